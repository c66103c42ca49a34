// PostgreSQL backend: libpq behind store::Database / store::Connection.
//
// Parameters go as text (binary for bytea) with explicit type OIDs for integers, reals and bytea,
// so `SELECT $1` round-trips the value's type as on SQLite; text parameters are typed "unknown"
// and take the type the statement needs. Results come back as text and are converted by the
// column's type OID.

#include "store/postgres/postgres_database.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "store/detail/connection_pool.hpp"

namespace parley::store::postgres {
namespace {

using Clock = std::chrono::steady_clock;

// Type OIDs from catalog/pg_type.h (server headers are not a build dependency).
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kOidOid = 26;
constexpr Oid kFloat4Oid = 700;
constexpr Oid kFloat8Oid = 701;
constexpr Oid kNumericOid = 1700;

struct ConnCloser {
  void operator()(PGconn* conn) const noexcept { PQfinish(conn); }
};
struct ResultClearer {
  void operator()(PGresult* result) const noexcept { PQclear(result); }
};
using ConnPtr = std::unique_ptr<PGconn, ConnCloser>;
using ResultPtr = std::unique_ptr<PGresult, ResultClearer>;

std::string trimmed(const char* text) {
  std::string out = text != nullptr ? text : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

/// Maps a SQLSTATE to a store error code. See database.hpp for the meaning of each code.
Errc errc_for_sqlstate(std::string_view state) {
  if (state.size() != 5) return Errc::internal;
  if (state == "23505" || state == "23P01") return Errc::conflict;
  if (state.substr(0, 2) == "23") return Errc::validation_failed;  // 23503 FK, 23502, 23514 ...
  if (state == "40001" || state == "40P01" || state == "55P03") return Errc::busy;
  if (state == "57014") return Errc::timeout;   // statement_timeout
  if (state == "08P01") return Errc::internal;  // protocol violation: e.g. wrong parameter count
  if (state.substr(0, 2) == "08" || state.substr(0, 2) == "53") return Errc::unavailable;
  if (state == "57P01" || state == "57P02" || state == "57P03") return Errc::unavailable;
  if (state.substr(0, 2) == "22") return Errc::validation_failed;  // bad data: encoding, range
  return Errc::internal;
}

Result<std::int64_t> parse_int(std::string_view text) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return fail(Errc::internal, "postgres: cannot read integer '" + std::string(text) + "'");
  }
  return value;
}

Result<double> parse_double(std::string_view text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return fail(Errc::internal, "postgres: cannot read number '" + std::string(text) + "'");
  }
  return value;
}

Result<Blob> parse_bytea_hex(std::string_view text) {
  if (text.substr(0, 2) != "\\x" || text.size() % 2 != 0) {
    return fail(Errc::internal, "postgres: bytea is not in hex output format");
  }
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  Blob blob((text.size() - 2) / 2);
  for (std::size_t i = 0; i < blob.size(); ++i) {
    int high = nibble(text[2 + 2 * i]);
    int low = nibble(text[3 + 2 * i]);
    if (high < 0 || low < 0) return fail(Errc::internal, "postgres: bad bytea hex digit");
    blob[i] = static_cast<std::byte>(high * 16 + low);
  }
  return blob;
}

Result<Value> column_value(const PGresult* result, int row, int column) {
  if (PQgetisnull(result, row, column) != 0) return Value{null_value};
  std::string_view text(PQgetvalue(result, row, column),
                        static_cast<std::size_t>(PQgetlength(result, row, column)));
  switch (PQftype(result, column)) {
    case kInt2Oid:
    case kInt4Oid:
    case kInt8Oid:
    case kOidOid: {
      auto value = parse_int(text);
      if (!value) return value.error();
      return Value{*value};
    }
    case kFloat4Oid:
    case kFloat8Oid:
    case kNumericOid: {
      auto value = parse_double(text);
      if (!value) return value.error();
      return Value{*value};
    }
    case kBoolOid:
      return Value{std::int64_t{text == "t" ? 1 : 0}};
    case kByteaOid: {
      auto value = parse_bytea_hex(text);
      if (!value) return value.error();
      return Value{std::move(*value)};
    }
    default:
      return Value{std::string(text)};
  }
}

class PostgresConnection final : public detail::PooledConnection {
 public:
  static Result<std::unique_ptr<detail::PooledConnection>> open(const std::string& conninfo,
                                                                const DatabaseOptions& options) {
    // libpq takes whole seconds and treats 1 as 2; round up so a small timeout stays bounded.
    const auto timeout_s =
        std::max<std::int64_t>(2, (options.connect_timeout.count() + 999) / 1000);
    const std::string timeout = std::to_string(timeout_s);
    // Later keywords override what the URI (expanded from "dbname") sets; application_name
    // comes first so the URI may override it.
    std::array<const char*, 5> keywords{"application_name", "dbname", "connect_timeout",
                                        "client_encoding", nullptr};
    std::array<const char*, 5> values{"parley", conninfo.c_str(), timeout.c_str(), "UTF8", nullptr};
    ConnPtr conn(PQconnectdbParams(keywords.data(), values.data(), 1));
    if (!conn) return fail(Errc::unavailable, "postgres: out of memory while connecting");
    if (PQstatus(conn.get()) != CONNECTION_OK) {
      return fail(Errc::unavailable,
                  "postgres: cannot connect: " + trimmed(PQerrorMessage(conn.get())));
    }
    std::unique_ptr<PostgresConnection> connection(new PostgresConnection(std::move(conn)));
    if (options.statement_timeout.count() > 0) {
      auto set = connection->command("SET statement_timeout = " +
                                     std::to_string(options.statement_timeout.count()));
      if (!set) return set.error();
    }
    return std::unique_ptr<detail::PooledConnection>(std::move(connection));
  }

  Result<void> begin() override {
    if (in_transaction()) return fail(Errc::internal, "a transaction is already open");
    return command("BEGIN");
  }

  Result<void> commit() override {
    if (PQstatus(conn_.get()) != CONNECTION_OK) return error_from(nullptr);
    const auto status = PQtransactionStatus(conn_.get());
    if (status == PQTRANS_INERROR) {
      (void)command("ROLLBACK");
      return fail(Errc::internal,
                  "postgres: transaction was aborted by an earlier error and has been rolled back");
    }
    if (status != PQTRANS_INTRANS) return fail(Errc::internal, "commit without a transaction");
    auto result = exec("COMMIT");
    if (!result) return result.error();
    // A COMMIT of an aborted transaction "succeeds" with the tag ROLLBACK.
    if (std::strcmp(PQcmdStatus(result->get()), "COMMIT") != 0) {
      return fail(Errc::internal, "postgres: transaction was rolled back instead of committed");
    }
    return {};
  }

  Result<void> rollback() override {
    if (!in_transaction()) return {};
    return command("ROLLBACK");
  }

  [[nodiscard]] bool in_transaction() const noexcept override {
    const auto status = PQtransactionStatus(conn_.get());
    return status == PQTRANS_INTRANS || status == PQTRANS_INERROR;
  }

  [[nodiscard]] Dialect dialect() const noexcept override { return Dialect::postgres; }

  [[nodiscard]] bool healthy() noexcept override {
    if (PQstatus(conn_.get()) != CONNECTION_OK) return false;
    // An idle connection whose server went away (restart, pg_terminate_backend, idle timeout)
    // still says CONNECTION_OK until it reads. PQconsumeInput does a non-blocking read: it sees
    // the FATAL/EOF now, so the pool reconnects instead of failing the lease holder's first query.
    // A terminated backend first sends "FATAL: terminating connection", then closes the
    // socket; the close may not have happened yet, so the FATAL itself marks us broken (libpq
    // hands an error received while idle to the notice receiver when PQisBusy parses input).
    if (PQtransactionStatus(conn_.get()) == PQTRANS_IDLE) {
      if (PQconsumeInput(conn_.get()) == 0) return false;
      (void)PQisBusy(conn_.get());
    }
    return !server_said_goodbye_ && PQstatus(conn_.get()) == CONNECTION_OK;
  }

 private:
  explicit PostgresConnection(ConnPtr conn) : conn_(std::move(conn)) {
    // Also keeps server notices off stderr.
    PQsetNoticeReceiver(conn_.get(), &PostgresConnection::on_notice, this);
  }

  static void on_notice(void* self, const PGresult* notice) noexcept {
    const char* severity = PQresultErrorField(notice, PG_DIAG_SEVERITY_NONLOCALIZED);
    if (severity != nullptr &&
        (std::strcmp(severity, "FATAL") == 0 || std::strcmp(severity, "PANIC") == 0)) {
      static_cast<PostgresConnection*>(self)->server_said_goodbye_ = true;
    }
  }

  Error error_from(const PGresult* result) const {
    if (PQstatus(conn_.get()) != CONNECTION_OK) {
      return fail(Errc::unavailable,
                  "postgres: connection lost: " + trimmed(PQerrorMessage(conn_.get())));
    }
    if (result == nullptr) {
      return fail(Errc::unavailable, "postgres: " + trimmed(PQerrorMessage(conn_.get())));
    }
    const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
    std::string message = primary != nullptr ? primary : trimmed(PQresultErrorMessage(result));
    std::string_view sqlstate = state != nullptr ? state : "";
    return fail(errc_for_sqlstate(sqlstate),
                "postgres: " + message + " (SQLSTATE " + std::string(sqlstate) + ")");
  }

  /// Checks a result: ok statuses give the result back, anything else an Error.
  Result<ResultPtr> checked(ResultPtr result) const {
    if (!result) return error_from(nullptr);
    switch (PQresultStatus(result.get())) {
      case PGRES_COMMAND_OK:
      case PGRES_TUPLES_OK:
      case PGRES_EMPTY_QUERY:
        return result;
      default:
        return error_from(result.get());
    }
  }

  Result<ResultPtr> exec(const std::string& sql) {
    return checked(ResultPtr(PQexec(conn_.get(), sql.c_str())));
  }

  Result<void> command(const std::string& sql) {
    auto result = exec(sql);
    if (!result) return result.error();
    return {};
  }

  Result<ResultPtr> exec_params(std::string_view sql, std::span<const Value> params) {
    const std::string statement(sql);  // libpq wants a NUL-terminated string
    const auto count = params.size();
    std::vector<std::string> texts(count);
    std::vector<const char*> values(count, nullptr);
    std::vector<int> lengths(count, 0);
    std::vector<int> formats(count, 0);
    std::vector<Oid> types(count, 0);
    for (std::size_t i = 0; i < count; ++i) {
      const Value& value = params[i];
      if (const auto* integer = std::get_if<std::int64_t>(&value)) {
        texts[i] = std::to_string(*integer);
        types[i] = kInt8Oid;
      } else if (const auto* real = std::get_if<double>(&value)) {
        std::array<char, 64> buffer{};
        auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), *real);
        texts[i].assign(buffer.data(), ec == std::errc() ? end : buffer.data());
        types[i] = kFloat8Oid;
      } else if (const auto* text = std::get_if<std::string>(&value)) {
        if (text->find('\0') != std::string::npos) {
          return fail(Errc::validation_failed, "postgres: text parameter $" +
                                                   std::to_string(i + 1) +
                                                   " contains a NUL byte (use a blob)");
        }
        values[i] = text->c_str();
        continue;
      } else if (const auto* blob = std::get_if<Blob>(&value)) {
        static const char kEmpty = 0;
        values[i] = blob->empty() ? &kEmpty : reinterpret_cast<const char*>(blob->data());
        lengths[i] = static_cast<int>(blob->size());
        formats[i] = 1;  // binary: raw bytes, no escaping
        types[i] = kByteaOid;
        continue;
      } else {
        continue;  // NULL: values[i] stays nullptr
      }
      values[i] = texts[i].c_str();
    }
    return checked(
        ResultPtr(PQexecParams(conn_.get(), statement.c_str(), static_cast<int>(count),
                               types.data(), values.data(), lengths.data(), formats.data(), 0)));
  }

  Result<Rows> do_query(std::string_view sql, std::span<const Value> params) override {
    auto executed = exec_params(sql, params);
    if (!executed) return executed.error();
    const PGresult* result = executed->get();
    const int columns = PQnfields(result);
    const int rows = PQntuples(result);
    auto names = std::make_shared<std::vector<std::string>>();
    names->reserve(static_cast<std::size_t>(columns));
    for (int c = 0; c < columns; ++c) names->emplace_back(PQfname(result, c));
    std::vector<Row> collected;
    collected.reserve(static_cast<std::size_t>(rows));
    for (int r = 0; r < rows; ++r) {
      std::vector<Value> values;
      values.reserve(static_cast<std::size_t>(columns));
      for (int c = 0; c < columns; ++c) {
        auto value = column_value(result, r, c);
        if (!value) return value.error();
        values.push_back(std::move(*value));
      }
      collected.emplace_back(names, std::move(values));
    }
    return Rows(std::move(names), std::move(collected));
  }

  Result<std::int64_t> do_execute(std::string_view sql, std::span<const Value> params) override {
    auto executed = exec_params(sql, params);
    if (!executed) return executed.error();
    std::string_view affected = PQcmdTuples(executed->get());
    if (affected.empty()) return std::int64_t{0};
    return parse_int(affected);
  }

  Result<void> do_execute_script(std::string_view sql) override {
    return command(std::string(sql));
  }

  ConnPtr conn_;
  bool server_said_goodbye_ = false;
};

class PostgresDatabase final : public Database {
 public:
  PostgresDatabase(const std::string& conninfo, const DatabaseOptions& options)
      : options_(options), pool_(options.pool_size, [conninfo, options] {
          return PostgresConnection::open(conninfo, options);
        }) {}

  Result<ConnectionLease> acquire() override {
    return pool_.acquire(Clock::now() + options_.acquire_timeout);
  }
  Result<ConnectionLease> acquire(Clock::time_point deadline) override {
    return pool_.acquire(deadline);
  }
  Result<void> ping() override {
    auto lease = acquire();
    if (!lease) return lease.error();
    auto rows = (*lease)->query("SELECT 1");
    if (!rows) return rows.error();
    return {};
  }
  [[nodiscard]] Dialect dialect() const noexcept override { return Dialect::postgres; }
  [[nodiscard]] std::size_t pool_size() const noexcept override { return pool_.size(); }
  [[nodiscard]] PoolStats pool_stats() const noexcept override {
    return {pool_.size(), pool_.in_use()};
  }

  Result<void> warm_up() { return pool_.warm_up(); }

 private:
  DatabaseOptions options_;
  detail::ConnectionPool pool_;
};

}  // namespace

Result<std::unique_ptr<Database>> open(const std::string& conninfo,
                                       const DatabaseOptions& options) {
  char* parse_error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(conninfo.c_str(), &parse_error);
  if (parsed == nullptr) {
    // libpq's message can quote the offending part of the URI, which may be the password.
    if (parse_error != nullptr) PQfreemem(parse_error);
    return fail(Errc::validation_failed,
                "invalid database URL: libpq cannot parse the PostgreSQL connection URI");
  }
  // libpq checks the port only when connecting; a typo there is configuration, not an outage.
  std::string bad_port;
  for (const PQconninfoOption* option = parsed; option->keyword != nullptr; ++option) {
    if (std::string_view(option->keyword) != "port" || option->val == nullptr) continue;
    std::string_view ports = option->val;  // comma-separated for multiple hosts
    while (true) {
      auto comma = ports.find(',');
      auto port = ports.substr(0, comma);
      int number = 0;
      auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
      if (!port.empty() &&
          (ec != std::errc() || end != port.data() + port.size() || number < 1 || number > 65535)) {
        bad_port = std::string(port);
      }
      if (comma == std::string_view::npos) break;
      ports.remove_prefix(comma + 1);
    }
  }
  PQconninfoFree(parsed);
  if (!bad_port.empty()) {
    return fail(Errc::validation_failed, "invalid database URL: bad PostgreSQL port");
  }
  auto database = std::make_unique<PostgresDatabase>(conninfo, options);
  if (options.connect_eagerly) {
    if (auto warmed = database->warm_up(); !warmed) return warmed.error();
  }
  return std::unique_ptr<Database>(std::move(database));
}

}  // namespace parley::store::postgres
