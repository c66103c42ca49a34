#include "store/database.hpp"

#include <filesystem>
#include <system_error>
#include <utility>

#include "store/postgres/postgres_database.hpp"
#include "store/sqlite/sqlite_database.hpp"

namespace parley::store {

std::string_view to_string(Dialect dialect) noexcept {
  switch (dialect) {
    case Dialect::sqlite:
      return "sqlite";
    case Dialect::postgres:
      return "postgres";
  }
  return "unknown";
}

std::string_view type_name(const Value& value) noexcept {
  switch (value.index()) {
    case 0:
      return "null";
    case 1:
      return "integer";
    case 2:
      return "real";
    case 3:
      return "text";
    default:
      return "blob";
  }
}

Blob to_blob(std::string_view bytes) {
  Blob blob(bytes.size());
  for (std::size_t i = 0; i < bytes.size(); ++i) blob[i] = static_cast<std::byte>(bytes[i]);
  return blob;
}

std::optional<std::size_t> Row::index_of(std::string_view name) const noexcept {
  const auto& names = *columns_;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return i;
  }
  return std::nullopt;
}

const Value* Row::find(std::string_view name) const noexcept {
  auto index = index_of(name);
  return index ? &values_[*index] : nullptr;
}

// --- Transaction -------------------------------------------------------------------------------

Result<Transaction> Transaction::begin(Connection& connection) {
  if (auto started = connection.begin(); !started) return started.error();
  return Transaction(connection);
}

Transaction::Transaction(Transaction&& other) noexcept
    : connection_(std::exchange(other.connection_, nullptr)), active_(other.active_) {}

Transaction& Transaction::operator=(Transaction&& other) noexcept {
  if (this != &other) {
    if (active()) (void)rollback();
    connection_ = std::exchange(other.connection_, nullptr);
    active_ = other.active_;
  }
  return *this;
}

Transaction::~Transaction() {
  if (active() && connection_->in_transaction()) (void)connection_->rollback();
}

Result<void> Transaction::commit() {
  if (!active()) return fail(Errc::internal, "commit on a finished transaction");
  auto done = connection_->commit();
  if (done) active_ = false;
  return done;
}

Result<void> Transaction::rollback() {
  if (!active()) return fail(Errc::internal, "rollback on a finished transaction");
  active_ = false;
  return connection_->rollback();
}

// --- ConnectionLease ---------------------------------------------------------------------------

ConnectionLease& ConnectionLease::operator=(ConnectionLease&& other) noexcept {
  if (this != &other) {
    reset();
    owner_ = std::exchange(other.owner_, nullptr);
    slot_ = other.slot_;
    connection_ = std::exchange(other.connection_, nullptr);
  }
  return *this;
}

void ConnectionLease::reset() noexcept {
  if (owner_ != nullptr) owner_->release(slot_);
  owner_ = nullptr;
  connection_ = nullptr;
}

// --- open_database -----------------------------------------------------------------------------

namespace {

constexpr std::string_view kUrlHelp =
    "expected sqlite:///relative/path.db, sqlite:////absolute/path.db, sqlite:///:memory: or "
    "postgresql://user@host:port/dbname";

Error bad_url(std::string_view why) {
  return fail(Errc::validation_failed,
              "invalid database URL: " + std::string(why) + " (" + std::string(kUrlHelp) + ")");
}

Result<std::unique_ptr<Database>> open_sqlite_url(std::string_view rest,
                                                  const DatabaseOptions& options) {
  // `rest` is what follows "sqlite:///": ":memory:", "relative/path" or "/absolute/path".
  if (rest.empty()) return bad_url("sqlite URL has no path");
  if (rest.find('?') != std::string_view::npos || rest.find('#') != std::string_view::npos) {
    return bad_url("sqlite URL query parameters are not supported");
  }
  if (rest == ":memory:") {
    DatabaseOptions memory = options;
    memory.pool_size = 1;  // each SQLite :memory: connection is its own database: share one
    return sqlite::open(":memory:", memory);
  }
  std::filesystem::path path(rest);
  if (!path.has_filename()) return bad_url("sqlite URL path names a folder, not a file");
  std::error_code ec;
  if (path.has_parent_path()) {
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) {
      return fail(Errc::internal, "cannot create database folder '" + path.parent_path().string() +
                                      "': " + ec.message());
    }
  }
  return sqlite::open(path.string(), options);
}

}  // namespace

Result<std::unique_ptr<Database>> open_database(const std::string& database_url,
                                                const DatabaseOptions& options) {
  if (options.pool_size == 0) {
    return fail(Errc::validation_failed, "database pool_size must be at least 1");
  }
  if (options.acquire_timeout.count() < 0 || options.busy_timeout.count() < 0 ||
      options.connect_timeout.count() < 0 || options.statement_timeout.count() < 0) {
    return fail(Errc::validation_failed, "database timeouts must not be negative");
  }
  std::string_view url = database_url;
  auto scheme_end = url.find("://");
  if (url.empty()) return bad_url("empty");
  if (scheme_end == std::string_view::npos) return bad_url("no scheme");
  std::string_view scheme = url.substr(0, scheme_end);
  if (scheme == "sqlite") {
    constexpr std::string_view kPrefix = "sqlite:///";
    if (url.substr(0, kPrefix.size()) != kPrefix) {
      return bad_url("sqlite URLs need three slashes before the path");
    }
    return open_sqlite_url(url.substr(kPrefix.size()), options);
  }
  if (scheme == "postgresql" || scheme == "postgres") {
    return postgres::open(database_url, options);
  }
  // Never echo the URL itself: it may carry a password.
  return bad_url("unsupported scheme '" + std::string(scheme.substr(0, 32)) + "'");
}

}  // namespace parley::store
