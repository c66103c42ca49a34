#pragma once
// The generator's threads: one io_context per thread, so that a client and everything it
// touches live on one thread and nothing on the hot path takes a lock.

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace parley::loadgen {

/// Counts completions of work spread over several threads; the coordinator waits for zero.
class Countdown {
 public:
  explicit Countdown(std::size_t count) : remaining_(count) {}
  void count_down();
  void wait();
  /// Waits until the count reaches zero or `deadline` passes; true when it reached zero.
  bool wait_until(std::chrono::steady_clock::time_point deadline);

 private:
  std::mutex mutex_;
  std::condition_variable zero_;
  std::size_t remaining_;
};

class LoopPool {
 public:
  explicit LoopPool(std::size_t threads);
  /// Stops every loop and joins its thread. Whatever still refers to a loop's objects must be
  /// destroyed after stop() and before the pool (see stop()).
  ~LoopPool();
  LoopPool(const LoopPool&) = delete;
  LoopPool& operator=(const LoopPool&) = delete;

  std::size_t size() const { return contexts_.size(); }
  boost::asio::io_context& context(std::size_t index) { return *contexts_[index]; }

  /// Runs `fn(index)` on every loop's own thread and waits until each call has returned: the
  /// coordinator's way to read or change per-thread state without locks.
  void run_on_all(const std::function<void(std::size_t)>& fn);
  /// Stops the loops and joins the threads (idempotent). After it, objects bound to the loops
  /// (sockets, timers) may be destroyed from the coordinator.
  void stop();

 private:
  using WorkGuard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<WorkGuard> guards_;
  std::vector<std::thread> threads_;
};

}  // namespace parley::loadgen
