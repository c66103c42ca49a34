#pragma once
// The storage interface every service and repository uses. Backends (SQLite, PostgreSQL) live in
// store/sqlite/ and store/postgres/; only open_database() and the composition root know them.
//
// Threading and blocking: every call here BLOCKS on disk or network I/O (and on locks held by
// other connections). Callers run them on the worker pool, never on a network (io_context) thread.
// A Database is thread-safe; a Connection is used by one thread at a time (whoever holds its
// lease).
//
// Errors: the Error::message of a storage error is diagnostic text for logs (it may contain the
// backend's own message, e.g. a constraint or table name). The net layer shows only the Errc
// code's generic text for Errc::internal/unavailable; repositories turn conflict and
// validation_failed into their own user-facing messages ("email already registered").
//
// SQL: placeholders are $1, $2, ... on both backends; values are always bound, never spliced.
// Parameter types: on PostgreSQL an integer Value is sent as bigint, a real as double precision,
// a blob as bytea and text untyped (it takes the type the statement needs). Where a function
// wants another type, cast: `pg_terminate_backend($1::integer)`. Result columns come back by
// type: integer types and booleans as int64, float/numeric as double, bytea as Blob, the rest
// as text; SQLite returns each value's storage class.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "store/value.hpp"

namespace parley::store {

enum class Dialect { sqlite, postgres };

std::string_view to_string(Dialect dialect) noexcept;

/// One database session. Obtained from Database::acquire() as a ConnectionLease.
///
/// Thread-safety: not thread-safe; one thread at a time uses a connection (the lease holder).
/// Portability rule: after any error inside a transaction, roll it back (PostgreSQL aborts the
/// whole transaction on an error, SQLite only the failed statement).
class Connection {
 public:
  virtual ~Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Runs one statement that returns rows (SELECT, or INSERT/UPDATE ... RETURNING).
  /// @param sql    exactly one statement with $1..$N placeholders.
  /// @param params $1 is params[0]; every placeholder must be bound, and every param used.
  /// @return all rows, in order.
  /// Errors: Errc::conflict (unique/primary-key violation), Errc::validation_failed (foreign key,
  /// NOT NULL, CHECK, invalid data such as bad UTF-8), Errc::busy (lock wait timed out, deadlock
  /// or serialization failure: retryable), Errc::timeout (statement_timeout passed),
  /// Errc::unavailable (connection lost: the pool replaces it), Errc::internal (SQL error,
  /// placeholder mismatch, more than one statement, anything else).
  Result<Rows> query(std::string_view sql, std::span<const Value> params = {}) {
    return do_query(sql, params);
  }
  Result<Rows> query(std::string_view sql, std::initializer_list<Value> params) {
    return do_query(sql, std::span<const Value>(params.begin(), params.size()));
  }

  /// Runs one statement and returns the number of rows it inserted, updated or deleted (0 for
  /// DDL). Any rows the statement returns are discarded. Errors: as query().
  Result<std::int64_t> execute(std::string_view sql, std::span<const Value> params = {}) {
    return do_execute(sql, params);
  }
  Result<std::int64_t> execute(std::string_view sql, std::initializer_list<Value> params) {
    return do_execute(sql, std::span<const Value>(params.begin(), params.size()));
  }

  /// Runs several ';'-separated statements without parameters (migrations, test fixtures).
  /// Stops at the first failing statement. Errors: as query().
  Result<void> execute_script(std::string_view sql) { return do_execute_script(sql); }

  /// Starts a transaction: BEGIN IMMEDIATE on SQLite (takes the write lock now, so two readers
  /// never deadlock upgrading), BEGIN (READ COMMITTED) on PostgreSQL. Prefer Transaction.
  /// Errors: Errc::internal if a transaction is already open; Errc::busy if the SQLite write lock
  /// was not obtained within busy_timeout; as query() otherwise.
  virtual Result<void> begin() = 0;

  /// Commits. Errors: Errc::internal if no transaction is open, or if PostgreSQL had aborted
  /// the transaction after an earlier error (it is rolled back); Errc::busy; Errc::unavailable.
  virtual Result<void> commit() = 0;

  /// Rolls back the open transaction (no-op without one). Errors: Errc::unavailable, internal.
  virtual Result<void> rollback() = 0;

  /// True while a transaction is open (including a PostgreSQL transaction aborted by an error).
  [[nodiscard]] virtual bool in_transaction() const noexcept = 0;

  [[nodiscard]] virtual Dialect dialect() const noexcept = 0;

  /// True while another connection of this database waits for the write lock (SQLite has one
  /// writer at a time). A long writer that is not urgent commits early to let it in. Always
  /// false on PostgreSQL, whose writers lock rows, not the database.
  [[nodiscard]] virtual bool writer_waiting() const noexcept { return false; }

  /// After committing early for a waiting writer: waits until some connection has released the
  /// write lock (the waiting writer took its turn), at most `at_most`, so that the one that
  /// stepped aside does not take the lock straight back. No-op on PostgreSQL.
  virtual void let_waiting_writer_in(std::chrono::milliseconds /*at_most*/) {}

 protected:
  Connection() = default;

 private:
  virtual Result<Rows> do_query(std::string_view sql, std::span<const Value> params) = 0;
  virtual Result<std::int64_t> do_execute(std::string_view sql, std::span<const Value> params) = 0;
  virtual Result<void> do_execute_script(std::string_view sql) = 0;
};

/// RAII transaction: rolls back on destruction unless commit() succeeded.
///
///   auto tx = Transaction::begin(*lease);
///   if (!tx) return tx.error();
///   ... lease->execute(...) ...
///   if (auto done = tx->commit(); !done) return done.error();
class Transaction {
 public:
  /// Starts a transaction on `connection`, which must outlive the guard. Errors: as
  /// Connection::begin().
  static Result<Transaction> begin(Connection& connection);

  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&& other) noexcept;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  /// Commits. On failure the guard stays active, so its destructor rolls back what is left.
  Result<void> commit();

  /// Rolls back now (the destructor then does nothing).
  Result<void> rollback();

  [[nodiscard]] Connection& connection() const noexcept { return *connection_; }
  [[nodiscard]] bool active() const noexcept { return connection_ != nullptr && active_; }

 private:
  explicit Transaction(Connection& connection) noexcept : connection_(&connection) {}
  Connection* connection_ = nullptr;
  bool active_ = true;
};

/// Exclusive use of one pooled Connection; returns it to the pool on destruction (rolling back a
/// transaction left open, and discarding a broken connection so the next acquire reconnects).
/// A lease must not outlive the Database it came from. Move-only.
class ConnectionLease {
 public:
  /// Implemented by pools: takes a connection back. Called from the lease's destructor.
  class Owner {
   public:
    virtual ~Owner() = default;
    virtual void release(std::size_t slot) noexcept = 0;
  };

  ConnectionLease() = default;
  ConnectionLease(Owner& owner, std::size_t slot, Connection& connection) noexcept
      : owner_(&owner), slot_(slot), connection_(&connection) {}
  ConnectionLease(ConnectionLease&& other) noexcept { *this = std::move(other); }
  ConnectionLease& operator=(ConnectionLease&& other) noexcept;
  ConnectionLease(const ConnectionLease&) = delete;
  ConnectionLease& operator=(const ConnectionLease&) = delete;
  ~ConnectionLease() { reset(); }

  /// Returns the connection to the pool now; the lease becomes empty.
  void reset() noexcept;

  [[nodiscard]] Connection& operator*() const noexcept { return *connection_; }
  [[nodiscard]] Connection* operator->() const noexcept { return connection_; }
  [[nodiscard]] Connection& get() const noexcept { return *connection_; }
  [[nodiscard]] explicit operator bool() const noexcept { return connection_ != nullptr; }

 private:
  Owner* owner_ = nullptr;
  std::size_t slot_ = 0;
  Connection* connection_ = nullptr;
};

struct DatabaseOptions {
  /// Connections in the pool. SQLite ":memory:" always uses 1 (one shared in-memory database).
  std::size_t pool_size = 4;
  /// How long acquire() waits for a free connection before Errc::busy.
  std::chrono::milliseconds acquire_timeout{5000};
  /// SQLite: how long a statement waits for another connection's lock (PRAGMA busy_timeout).
  std::chrono::milliseconds busy_timeout{5000};
  /// PostgreSQL: connect timeout (libpq rounds to whole seconds, minimum 2 s).
  std::chrono::milliseconds connect_timeout{5000};
  /// Upper bound on one statement's run time (0 = none): PostgreSQL statement_timeout, SQLite
  /// progress-handler interrupt. Exceeding it gives Errc::timeout.
  std::chrono::milliseconds statement_timeout{30000};
  /// SQLite: prepared statements kept per connection (LRU).
  std::size_t statement_cache_size = 64;
  /// SQLite: WAL length in pages at which a background thread copies the WAL into the database
  /// file (commits never wait for that copy; past 4 times as many the commits copy it themselves).
  std::size_t wal_checkpoint_pages = 1000;
  /// Open one connection inside open_database(), so a wrong path, host or password fails at
  /// start-up instead of at the first request.
  bool connect_eagerly = true;
};

/// A database: a bounded pool of connections to one SQLite file or PostgreSQL database.
///
/// Thread-safety: all methods are thread-safe. All of them block (see the file comment).
class Database {
 public:
  virtual ~Database() = default;

  /// Leases a connection, waiting at most options.acquire_timeout for one to be free.
  /// Errors: Errc::busy (every connection stayed leased until the deadline), Errc::unavailable
  /// (a new connection could not be opened; PostgreSQL may take up to connect_timeout more),
  /// Errc::internal (SQLite file could not be opened/configured).
  virtual Result<ConnectionLease> acquire() = 0;

  /// As acquire(), with an explicit deadline (a request's own deadline).
  virtual Result<ConnectionLease> acquire(std::chrono::steady_clock::time_point deadline) = 0;

  /// Readiness probe: leases a connection and runs SELECT 1. Errors: as acquire() and query().
  virtual Result<void> ping() = 0;

  [[nodiscard]] virtual Dialect dialect() const noexcept = 0;
  [[nodiscard]] virtual std::size_t pool_size() const noexcept = 0;

  struct PoolStats {
    std::size_t size = 0;    ///< connections the pool may hold
    std::size_t in_use = 0;  ///< leased now (including one being opened for a lease)
  };
  /// A snapshot of the pool's use, for metrics. Does not block on the database.
  [[nodiscard]] virtual PoolStats pool_stats() const noexcept = 0;
};

/// Opens a database by URL:
///   sqlite:///relative/path.db   relative to the current directory (three slashes)
///   sqlite:////absolute/path.db  absolute path (four slashes)
///   sqlite:///:memory:           private in-memory database (pool of 1)
///   postgresql://... or postgres://...  a libpq connection URI
/// The parent folder of a SQLite file is created if missing. No percent-decoding of SQLite paths.
/// Errors: Errc::validation_failed (bad URL or options; the message never echoes a password),
/// Errc::unavailable (PostgreSQL unreachable, with connect_eagerly), Errc::internal (SQLite file
/// or folder could not be created or configured).
Result<std::unique_ptr<Database>> open_database(const std::string& database_url,
                                                const DatabaseOptions& options = {});

}  // namespace parley::store
