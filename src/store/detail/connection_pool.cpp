#include "store/detail/connection_pool.hpp"

#include <cassert>
#include <utility>

namespace parley::store::detail {

ConnectionPool::ConnectionPool(std::size_t size, Factory factory)
    : factory_(std::move(factory)), slots_(size) {
  free_.reserve(size);
  for (std::size_t i = size; i > 0; --i) free_.push_back(i - 1);
}

ConnectionPool::~ConnectionPool() {
  // A lease outliving its Database is a programmer error.
  assert(free_.size() == slots_.size() && "ConnectionLease outlived its Database");
}

Result<void> ConnectionPool::warm_up() {
  auto lease = acquire(std::chrono::steady_clock::now() + std::chrono::seconds(30));
  if (!lease) return lease.error();
  return {};
}

Result<ConnectionLease> ConnectionPool::acquire(std::chrono::steady_clock::time_point deadline) {
  std::size_t slot = 0;
  {
    std::unique_lock lock(mutex_);
    if (!available_.wait_until(lock, deadline, [&] { return !free_.empty(); })) {
      return fail(Errc::busy, "database connection pool exhausted (all " +
                                  std::to_string(slots_.size()) +
                                  " connections busy until the deadline)");
    }
    slot = free_.back();
    free_.pop_back();
  }
  auto& connection = slots_[slot];
  if (connection && !connection->healthy()) connection.reset();
  if (!connection) {
    auto opened = factory_();
    if (!opened) {
      {
        std::lock_guard lock(mutex_);
        free_.push_back(slot);
      }
      available_.notify_one();
      return opened.error();
    }
    connection = std::move(*opened);
  }
  return ConnectionLease(*this, slot, *connection);
}

std::size_t ConnectionPool::in_use() const noexcept {
  std::lock_guard lock(mutex_);
  return slots_.size() - free_.size();
}

void ConnectionPool::release(std::size_t slot) noexcept {
  auto& connection = slots_[slot];
  if (connection) {
    // A transaction left open by a failed or forgetful caller must not leak to the next user.
    if (connection->in_transaction()) (void)connection->rollback();
    if (!connection->healthy() || connection->in_transaction()) connection.reset();
  }
  {
    std::lock_guard lock(mutex_);
    free_.push_back(slot);
  }
  available_.notify_one();
}

}  // namespace parley::store::detail
