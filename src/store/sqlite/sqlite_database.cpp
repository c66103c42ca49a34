// SQLite backend: sqlite3 C API behind store::Database / store::Connection.
//
// Connections are opened in multi-thread mode (SQLITE_OPEN_NOMUTEX): each connection is used by
// one thread at a time (its lease holder), so SQLite's per-connection mutex would be pure cost.

#include "store/sqlite/sqlite_database.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <limits>
#include <list>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "store/detail/connection_pool.hpp"

namespace parley::store::sqlite {
namespace {

using Clock = std::chrono::steady_clock;

struct DbCloser {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const noexcept { sqlite3_finalize(stmt); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// Parameter buffers outlive every sqlite3_step() of the call that binds them (bindings are
// cleared before returning), so SQLite need not copy them: SQLITE_STATIC, which is a null
// destructor (the macro itself is a C-style cast, which -Wold-style-cast rejects).
constexpr sqlite3_destructor_type kStatic = nullptr;

/// Maps a SQLite (extended) result code to a store error. The SQLite message is kept for logs.
Error to_error(int code, std::string_view message) {
  Errc errc = Errc::internal;
  switch (code) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_ROWID:
      errc = Errc::conflict;
      break;
    default:
      switch (code & 0xff) {
        case SQLITE_CONSTRAINT:  // FOREIGNKEY, NOTNULL, CHECK, TRIGGER, ...
        case SQLITE_MISMATCH:
        case SQLITE_TOOBIG:
          errc = Errc::validation_failed;
          break;
        case SQLITE_BUSY:  // only after busy_timeout elapsed
        case SQLITE_LOCKED:
          errc = Errc::busy;
          break;
        case SQLITE_INTERRUPT:  // our progress handler: statement_timeout passed
          errc = Errc::timeout;
          break;
        default:
          break;
      }
  }
  return fail(errc, "sqlite: " + std::string(message) + " (code " + std::to_string(code) + ")");
}

// Hand-overs of SQLite's write lock between the connections of one process. SQLite's own busy
// handler sleeps 1, 2, 5, 10, 15 ... ms between attempts whatever the holder does, so a writer
// queued behind a 3 ms transaction waited 8 ms. Here a waiting connection is woken as soon as
// another connection of the process ends a writing statement outside a transaction or ends a
// transaction, and otherwise tries again every kBusyPoll (the holder may be another process).
class WriteTurns {
 public:
  static constexpr auto kBusyPoll = std::chrono::milliseconds(1);

  /// A connection may have released the write lock. Cheap when nobody waits. Returns the
  /// number of this release, for wait_for_release_after.
  std::uint64_t released() noexcept {
    const auto release = generation_.fetch_add(1) + 1;
    if (sleepers_.load() > 0) {
      { std::lock_guard lock(mutex_); }  // a sleeper between its check and its wait is woken
      changed_.notify_all();
    }
    return release;
  }

  /// Whether a connection waits for the lock now (in its busy handler).
  [[nodiscard]] bool writer_waiting() const noexcept { return writers_waiting_.load() > 0; }

  /// A writer that found the lock taken waits for the next release or `until`, whichever is
  /// first.
  void wait_for_lock(Clock::time_point until) {
    writers_waiting_.fetch_add(1);
    wait_for_release_after(generation_.load(), until);
    writers_waiting_.fetch_sub(1);
  }

  /// Waits until a release numbered after `release` (at once if there was one), or `until`.
  void wait_for_release_after(std::uint64_t release, Clock::time_point until) {
    std::unique_lock lock(mutex_);
    sleepers_.fetch_add(1);
    changed_.wait_until(lock, until, [&] { return generation_.load() != release; });
    sleepers_.fetch_sub(1);
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<int> writers_waiting_{0};
};

// Copies the WAL into the database file on a thread of its own. SQLite's default has the commit
// that takes the WAL past 1000 pages do it inside that commit's call, so every few hundred
// messages a batch of them waited for a thousand page copies and their fsyncs before it could
// be delivered (measured at 2,000 messages/s: a batch of two stored in 1.5-2.3 ms instead of
// 0.3, every ~90 ms). A PASSIVE checkpoint on another connection waits for nobody and blocks
// nobody: writers go on appending while it copies.
//
// SQLite starts the WAL over only when a writer finds all of it copied, which a writer that
// commits back to back never does while another thread copies. So past kCommitsHelpFactor
// times the threshold the thread stands back and the committing connections copy what is left
// themselves (little, when the thread kept up), after which their next write starts the WAL
// over: the WAL stays bounded as with SQLite's default. The same when the thread's connection
// could not be opened, from the threshold on.
class WalCheckpointer {
 public:
  static constexpr int kCommitsHelpFactor = 4;

  WalCheckpointer(std::string path, std::size_t due_pages)
      : path_(std::move(path)),
        due_pages_(static_cast<int>(std::min<std::size_t>(due_pages, kMaxPages))),
        thread_([this](std::stop_token stop) { run(stop); }) {}

  ~WalCheckpointer() {
    thread_.request_stop();
    { std::lock_guard lock(mutex_); }  // the thread between its check and its wait is woken
    wake_.notify_all();
  }
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  /// From a connection's WAL hook after each commit, with the WAL's length in pages.
  void wal_grew(sqlite3* db, const char* schema, int pages) noexcept {
    wal_pages_.store(pages);
    if (pages < due_pages_) return;
    if (pages >= commits_help_from()) {
      if (sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr) ==
          SQLITE_OK) {
        ++by_commits_;
      }
      return;
    }
    if (!due_.exchange(true)) {
      { std::lock_guard lock(mutex_); }
      wake_.notify_all();
    }
  }

  [[nodiscard]] WalCheckpoints counts() const noexcept {
    return {background_.load(), by_commits_.load()};
  }

 private:
  static constexpr std::size_t kMaxPages = 1'000'000;
  static constexpr int kMaxPasses = 8;

  int commits_help_from() const noexcept {
    return broken_.load() ? due_pages_ : due_pages_ * kCommitsHelpFactor;
  }

  void run(const std::stop_token& stop) {
    DbPtr db;  // opened on first need, used and closed by this thread only
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return stop.stop_requested() || due_.load(); });
      }
      if (stop.stop_requested()) return;
      due_.store(false);
      if (!db && !(db = open())) {
        broken_.store(true);
        return;
      }
      catch_up(db.get());
    }
  }

  // PASSIVE passes while they make progress: writers append while one copies. A reader's old
  // snapshot stops the progress (its frames cannot be copied yet); the next commit past the
  // threshold asks again.
  void catch_up(sqlite3* db) {
    int copied_before = -1;
    for (int pass = 0; pass < kMaxPasses; ++pass) {
      if (wal_pages_.load() >= commits_help_from()) return;  // the commits' turn
      int frames = 0;
      int copied = 0;
      // SQLITE_BUSY: another connection or process checkpoints now.
      if (sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_PASSIVE, &frames, &copied) !=
          SQLITE_OK) {
        return;
      }
      ++background_;
      if (copied >= frames || copied <= copied_before) return;
      copied_before = copied;
    }
  }

  DbPtr open() const {
    sqlite3* raw = nullptr;
    const int rc =
        sqlite3_open_v2(path_.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
    DbPtr db(raw);
    if (rc != SQLITE_OK) return nullptr;
    // The checkpoint's fsyncs follow this connection's setting: as durable as the commits.
    if (sqlite3_exec(db.get(), "PRAGMA synchronous=FULL", nullptr, nullptr, nullptr) != SQLITE_OK) {
      return nullptr;
    }
    return db;
  }

  const std::string path_;
  const int due_pages_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<bool> due_{false};
  std::atomic<bool> broken_{false};
  std::atomic<int> wal_pages_{0};  // after the last commit of any connection
  std::atomic<std::uint64_t> background_{0};
  std::atomic<std::uint64_t> by_commits_{0};
  std::jthread thread_;  // last: starts once the rest exists, joined before the rest goes
};

class SqliteConnection final : public detail::PooledConnection {
 public:
  static Result<std::unique_ptr<detail::PooledConnection>> open(
      const std::string& path, const DatabaseOptions& options, std::shared_ptr<WriteTurns> turns,
      std::shared_ptr<WalCheckpointer> checkpointer) {
    sqlite3* raw = nullptr;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
    DbPtr db(raw);  // sqlite3_open_v2 may allocate a handle even on failure
    if (rc != SQLITE_OK) {
      std::string message = db ? sqlite3_errmsg(db.get()) : sqlite3_errstr(rc);
      return fail(Errc::internal, "sqlite: cannot open database '" + path + "': " + message);
    }
    sqlite3_extended_result_codes(db.get(), 1);
    std::unique_ptr<SqliteConnection> connection(
        new SqliteConnection(std::move(db), options, std::move(turns), std::move(checkpointer)));
    if (auto configured = connection->configure(path == ":memory:"); !configured) {
      return configured.error();
    }
    return std::unique_ptr<detail::PooledConnection>(std::move(connection));
  }

  Result<void> begin() override {
    if (in_transaction()) return fail(Errc::internal, "a transaction is already open");
    // IMMEDIATE takes the write lock now: a DEFERRED transaction that reads then writes can
    // fail with SQLITE_BUSY on upgrade without the busy handler ever being called.
    return exec("BEGIN IMMEDIATE");
  }

  Result<void> commit() override {
    if (!in_transaction()) return fail(Errc::internal, "commit without a transaction");
    auto done = exec("COMMIT");
    last_release_ = turns_->released();
    return done;
  }

  Result<void> rollback() override {
    if (!in_transaction()) return {};
    auto done = exec("ROLLBACK");
    turns_->released();
    return done;
  }

  [[nodiscard]] bool in_transaction() const noexcept override {
    return sqlite3_get_autocommit(db_.get()) == 0;
  }

  [[nodiscard]] Dialect dialect() const noexcept override { return Dialect::sqlite; }

  [[nodiscard]] bool writer_waiting() const noexcept override { return turns_->writer_waiting(); }

  void let_waiting_writer_in(std::chrono::milliseconds at_most) override {
    turns_->wait_for_release_after(last_release_, Clock::now() + at_most);
  }

  // A SQLite connection is a file handle: it does not break the way a socket does.
  [[nodiscard]] bool healthy() noexcept override { return true; }

 private:
  SqliteConnection(DbPtr db, const DatabaseOptions& options, std::shared_ptr<WriteTurns> turns,
                   std::shared_ptr<WalCheckpointer> checkpointer)
      : db_(std::move(db)),
        statement_timeout_(options.statement_timeout),
        cache_capacity_(options.statement_cache_size),
        busy_timeout_(options.busy_timeout),
        turns_(std::move(turns)),
        checkpointer_(std::move(checkpointer)) {
    // Checked every 10k virtual-machine steps: cheap, and bounds a runaway statement.
    sqlite3_progress_handler(db_.get(), 10000, &SqliteConnection::on_progress, this);
  }

  Result<void> configure(bool in_memory) {
    if (int rc = sqlite3_busy_handler(db_.get(), &SqliteConnection::on_busy, this);
        rc != SQLITE_OK) {
      return to_error(rc, sqlite3_errmsg(db_.get()));
    }
    // WAL: readers do not block the writer nor the writer the readers; one writer at a time.
    auto mode = query("PRAGMA journal_mode=WAL");
    if (!mode) return mode.error();
    auto mode_name = mode->empty() ? Result<std::string>(std::string())
                                   : (*mode)[0].get<std::string>(std::size_t{0});
    const std::string expected = in_memory ? "memory" : "wal";
    if (!mode_name || *mode_name != expected) {
      return fail(Errc::internal, "sqlite: could not enable WAL journal mode");
    }
    // Replaces SQLite's autocheckpoint (the two are one hook): commits leave the copy to
    // checkpointer_.
    if (checkpointer_) sqlite3_wal_hook(db_.get(), &SqliteConnection::on_wal_commit, this);
    // synchronous=FULL: in WAL mode NORMAL may lose the last committed transactions on power
    // loss or OS crash (the WAL is only fsynced at checkpoints). A message or payment we have
    // acknowledged must survive a crash, so every commit fsyncs the WAL.
    if (auto done = exec("PRAGMA synchronous=FULL"); !done) return done;
    // SQLite leaves foreign keys off by default, per connection.
    if (auto done = exec("PRAGMA foreign_keys=ON"); !done) return done;
    return {};
  }

  // SQLite asks whether to try again for a lock another connection holds (`attempts` so far in
  // this wait): yes until busy_timeout has passed since the first attempt.
  static int on_busy(void* self, int attempts) noexcept {
    auto* connection = static_cast<SqliteConnection*>(self);
    const auto now = Clock::now();
    if (attempts == 0) connection->busy_since_ = now;
    const auto give_up = connection->busy_since_ + connection->busy_timeout_;
    if (now >= give_up) return 0;
    try {
      connection->turns_->wait_for_lock(std::min(give_up, now + WriteTurns::kBusyPoll));
    } catch (...) {
      return 0;  // a mutex that cannot be locked: SQLITE_BUSY rather than an abort
    }
    return 1;
  }

  static int on_wal_commit(void* self, sqlite3* db, const char* schema, int pages) noexcept {
    static_cast<SqliteConnection*>(self)->checkpointer_->wal_grew(db, schema, pages);
    return SQLITE_OK;
  }

  static int on_progress(void* self) noexcept {
    auto* connection = static_cast<SqliteConnection*>(self);
    return connection->deadline_ != Clock::time_point{} && Clock::now() > connection->deadline_ ? 1
                                                                                                : 0;
  }

  /// Sets the statement deadline for the lifetime of one call.
  class DeadlineScope {
   public:
    explicit DeadlineScope(SqliteConnection& connection) : connection_(connection) {
      if (connection_.statement_timeout_.count() > 0) {
        connection_.deadline_ = Clock::now() + connection_.statement_timeout_;
      }
    }
    ~DeadlineScope() { connection_.deadline_ = {}; }
    DeadlineScope(const DeadlineScope&) = delete;
    DeadlineScope& operator=(const DeadlineScope&) = delete;

   private:
    SqliteConnection& connection_;
  };

  /// Resets a cached statement and clears its bindings when a call is done with it.
  class StatementUse {
   public:
    explicit StatementUse(sqlite3_stmt* stmt) : stmt_(stmt) {}
    ~StatementUse() {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    }
    StatementUse(const StatementUse&) = delete;
    StatementUse& operator=(const StatementUse&) = delete;

   private:
    sqlite3_stmt* stmt_;
  };

  Error last_error(int rc) const { return to_error(rc, sqlite3_errmsg(db_.get())); }

  Result<void> exec(const char* sql) {
    DeadlineScope deadline(*this);
    char* message = nullptr;
    int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, &message);
    std::unique_ptr<char, decltype(&sqlite3_free)> owned(message, &sqlite3_free);
    if (rc != SQLITE_OK) {
      return to_error(sqlite3_extended_errcode(db_.get()),
                      owned ? owned.get() : sqlite3_errstr(rc));
    }
    return {};
  }

  /// Returns a prepared statement for `sql` from the LRU cache, preparing it on a miss.
  Result<sqlite3_stmt*> prepare(std::string_view sql) {
    std::string key(sql);
    if (auto it = index_.find(key); it != index_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);  // most recently used first
      return it->second->second.get();
    }
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &raw, &tail);
    StmtPtr stmt(raw);
    if (rc != SQLITE_OK) return last_error(rc);
    if (!stmt) return fail(Errc::internal, "sqlite: empty statement");
    std::string_view rest(tail, static_cast<std::size_t>(sql.data() + sql.size() - tail));
    if (rest.find_first_not_of(" \t\r\n;") != std::string_view::npos) {
      return fail(Errc::internal,
                  "sqlite: query() takes exactly one statement; use execute_script() for more");
    }
    if (cache_capacity_ == 0) {
      uncached_ = std::move(stmt);
      return uncached_.get();
    }
    if (lru_.size() >= cache_capacity_) {
      index_.erase(lru_.back().first);
      lru_.pop_back();
    }
    lru_.emplace_front(std::move(key), std::move(stmt));
    index_.emplace(lru_.front().first, lru_.begin());
    return lru_.front().second.get();
  }

  Result<void> bind(sqlite3_stmt* stmt, std::span<const Value> params) {
    const int expected = sqlite3_bind_parameter_count(stmt);
    if (static_cast<std::size_t>(expected) != params.size()) {
      return fail(Errc::internal, "sqlite: statement has " + std::to_string(expected) +
                                      " placeholders but " + std::to_string(params.size()) +
                                      " parameters were given");
    }
    for (std::size_t i = 0; i < params.size(); ++i) {
      const std::string name = "$" + std::to_string(i + 1);
      const int index = sqlite3_bind_parameter_index(stmt, name.c_str());
      if (index == 0) {
        return fail(Errc::internal, "sqlite: placeholder " + name +
                                        " is not used in the statement (only $1..$N are allowed)");
      }
      const Value& value = params[i];
      int rc = SQLITE_OK;
      if (std::holds_alternative<Null>(value)) {
        rc = sqlite3_bind_null(stmt, index);
      } else if (const auto* integer = std::get_if<std::int64_t>(&value)) {
        rc = sqlite3_bind_int64(stmt, index, *integer);
      } else if (const auto* real = std::get_if<double>(&value)) {
        rc = sqlite3_bind_double(stmt, index, *real);
      } else if (const auto* text = std::get_if<std::string>(&value)) {
        rc = sqlite3_bind_text64(stmt, index, text->data(), text->size(), kStatic, SQLITE_UTF8);
      } else if (const auto* blob = std::get_if<Blob>(&value)) {
        // A null pointer would bind SQL NULL, so an empty blob is bound explicitly.
        rc = blob->empty() ? sqlite3_bind_zeroblob(stmt, index, 0)
                           : sqlite3_bind_blob64(stmt, index, blob->data(), blob->size(), kStatic);
      }
      if (rc != SQLITE_OK) return last_error(rc);
    }
    return {};
  }

  static Value column_value(sqlite3_stmt* stmt, int column) {
    switch (sqlite3_column_type(stmt, column)) {
      case SQLITE_INTEGER:
        return Value{static_cast<std::int64_t>(sqlite3_column_int64(stmt, column))};
      case SQLITE_FLOAT:
        return Value{sqlite3_column_double(stmt, column)};
      case SQLITE_TEXT: {
        const auto* text = sqlite3_column_text(stmt, column);
        const auto size = static_cast<std::size_t>(sqlite3_column_bytes(stmt, column));
        return Value{std::string(reinterpret_cast<const char*>(text), size)};
      }
      case SQLITE_BLOB: {
        const auto* data = static_cast<const std::byte*>(sqlite3_column_blob(stmt, column));
        const auto size = static_cast<std::size_t>(sqlite3_column_bytes(stmt, column));
        return Value{size == 0 ? Blob{} : Blob(data, data + size)};
      }
      default:
        return Value{null_value};
    }
  }

  /// Binds, steps to completion and (if `rows` is given) collects the rows.
  Result<void> run(std::string_view sql, std::span<const Value> params, Rows* rows) {
    statement_took_write_lock_ = false;
    auto prepared = prepare(sql);
    if (!prepared) return prepared.error();
    sqlite3_stmt* stmt = *prepared;
    // Outside a transaction only a statement that writes takes the write lock; one that ends a
    // transaction (COMMIT, RELEASE of the outermost savepoint) gives back the transaction's.
    statement_took_write_lock_ = in_transaction() || !sqlite3_stmt_readonly(stmt);
    StatementUse use(stmt);
    if (auto bound = bind(stmt, params); !bound) return bound.error();
    DeadlineScope deadline(*this);

    const int columns = sqlite3_column_count(stmt);
    std::shared_ptr<std::vector<std::string>> names;
    std::vector<Row> collected;
    if (rows != nullptr) {
      names = std::make_shared<std::vector<std::string>>();
      names->reserve(static_cast<std::size_t>(columns));
      for (int c = 0; c < columns; ++c) {
        const char* name = sqlite3_column_name(stmt, c);
        names->emplace_back(name != nullptr ? name : "");
      }
    }
    for (;;) {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return last_error(rc);
      if (rows == nullptr) continue;
      std::vector<Value> values;
      values.reserve(static_cast<std::size_t>(columns));
      for (int c = 0; c < columns; ++c) values.push_back(column_value(stmt, c));
      collected.emplace_back(names, std::move(values));
    }
    if (rows != nullptr) *rows = Rows(std::move(names), std::move(collected));
    return {};
  }

  // After a statement: outside a transaction, a write of its own (or a failed one) has ended.
  // A read alone wakes no waiting writer: it never held the lock they wait for.
  void statement_ended() noexcept {
    if (statement_took_write_lock_ && !in_transaction()) turns_->released();
  }

  Result<Rows> do_query(std::string_view sql, std::span<const Value> params) override {
    Rows rows;
    auto done = run(sql, params, &rows);
    statement_ended();
    if (!done) return done.error();
    return rows;
  }

  Result<std::int64_t> do_execute(std::string_view sql, std::span<const Value> params) override {
    auto done = run(sql, params, nullptr);
    statement_ended();
    if (!done) return done.error();
    return static_cast<std::int64_t>(sqlite3_changes64(db_.get()));
  }

  Result<void> do_execute_script(std::string_view sql) override {
    auto done = exec(std::string(sql).c_str());
    if (!in_transaction()) turns_->released();
    return done;
  }

  DbPtr db_;
  std::chrono::milliseconds statement_timeout_;
  std::size_t cache_capacity_;
  std::chrono::milliseconds busy_timeout_;
  std::shared_ptr<WriteTurns> turns_;              // shared by the database's connections
  std::shared_ptr<WalCheckpointer> checkpointer_;  // shared too; null for :memory:
  std::uint64_t last_release_ = 0;          // this connection's last commit, in turns_'s count
  bool statement_took_write_lock_ = false;  // the last statement run(), for statement_ended()
  Clock::time_point busy_since_{};
  Clock::time_point deadline_{};
  // LRU statement cache. Declared after db_ so it is destroyed first: statements must be
  // finalized before the connection closes.
  std::list<std::pair<std::string, StmtPtr>> lru_;
  std::unordered_map<std::string_view, std::list<std::pair<std::string, StmtPtr>>::iterator> index_;
  StmtPtr uncached_;
};

class SqliteDatabase final : public Database {
 public:
  SqliteDatabase(const std::string& path, const DatabaseOptions& options)
      : options_(options),
        checkpointer_(path == ":memory:"
                          ? nullptr
                          : std::make_shared<WalCheckpointer>(path, options.wal_checkpoint_pages)),
        pool_(options.pool_size, [path, options, turns = turns_, checkpointer = checkpointer_] {
          return SqliteConnection::open(path, options, turns, checkpointer);
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
  [[nodiscard]] Dialect dialect() const noexcept override { return Dialect::sqlite; }
  [[nodiscard]] std::size_t pool_size() const noexcept override { return pool_.size(); }
  [[nodiscard]] PoolStats pool_stats() const noexcept override {
    return {pool_.size(), pool_.in_use()};
  }

  Result<void> warm_up() { return pool_.warm_up(); }

  [[nodiscard]] WalCheckpoints wal_checkpoints() const noexcept {
    return checkpointer_ ? checkpointer_->counts() : WalCheckpoints{};
  }

 private:
  // Before pool_: its connections share them.
  std::shared_ptr<WriteTurns> turns_ = std::make_shared<WriteTurns>();
  DatabaseOptions options_;
  std::shared_ptr<WalCheckpointer> checkpointer_;
  detail::ConnectionPool pool_;
};

}  // namespace

Result<std::unique_ptr<Database>> open(const std::string& path, const DatabaseOptions& options) {
  auto database = std::make_unique<SqliteDatabase>(path, options);
  // :memory: must open now: its single connection is the database.
  if (options.connect_eagerly || path == ":memory:") {
    if (auto warmed = database->warm_up(); !warmed) return warmed.error();
  }
  return std::unique_ptr<Database>(std::move(database));
}

std::optional<WalCheckpoints> wal_checkpoints(const Database& database) {
  const auto* sqlite = dynamic_cast<const SqliteDatabase*>(&database);
  if (sqlite == nullptr) return std::nullopt;
  return sqlite->wal_checkpoints();
}

}  // namespace parley::store::sqlite
