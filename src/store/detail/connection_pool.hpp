#pragma once
// A bounded, blocking pool of backend connections shared by the SQLite and PostgreSQL backends.
// Internal to store/: not part of the public interface.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "core/error.hpp"
#include "store/database.hpp"

namespace parley::store::detail {

/// A Connection the pool can health-check.
class PooledConnection : public Connection {
 public:
  /// False once the connection is known to be unusable (e.g. the PostgreSQL server closed it).
  /// May do a non-blocking check of the socket. Called by the pool, never concurrently with use.
  [[nodiscard]] virtual bool healthy() noexcept = 0;
};

/// Fixed number of slots; a slot's connection is opened lazily (or by warm_up) and replaced when
/// it is found broken. Waiters are woken in no particular order.
class ConnectionPool final : public ConnectionLease::Owner {
 public:
  using Factory = std::function<Result<std::unique_ptr<PooledConnection>>()>;

  ConnectionPool(std::size_t size, Factory factory);
  ~ConnectionPool() override;
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  /// Opens the first connection now. Errors: the factory's.
  Result<void> warm_up();

  /// Errors: Errc::busy at the deadline, or the factory's error when a connection must be opened.
  Result<ConnectionLease> acquire(std::chrono::steady_clock::time_point deadline);

  void release(std::size_t slot) noexcept override;

  [[nodiscard]] std::size_t size() const noexcept { return slots_.size(); }
  /// Slots leased now (for metrics); takes the pool's lock briefly.
  [[nodiscard]] std::size_t in_use() const noexcept;

 private:
  Factory factory_;
  mutable std::mutex mutex_;
  std::condition_variable available_;
  // Slots are only touched by the thread that has the slot leased (or under mutex_ when free),
  // so connections are used outside the lock.
  std::vector<std::unique_ptr<PooledConnection>> slots_;
  std::vector<std::size_t> free_;  // LIFO: recently used connections are reused first.
};

}  // namespace parley::store::detail
