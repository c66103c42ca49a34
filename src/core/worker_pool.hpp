#pragma once
// A bounded pool for blocking work (bcrypt, SQLite, libpq, FFmpeg, speech engines). Network
// threads never block: they co_await WorkerPool::run and resume on their own executor.

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstddef>
#include <exception>
#include <memory>
#include <type_traits>
#include <utility>

#include "core/error.hpp"

namespace parley::core {

template <class T>
struct is_result : std::false_type {};
template <class T>
struct is_result<Result<T>> : std::true_type {};

/// Thread-safe. `run` may be called from any coroutine; the work runs on one of the pool's
/// threads and the awaiting coroutine resumes on its own executor (its strand).
class WorkerPool {
 public:
  /// @param threads number of worker threads (>= 1)
  /// @param max_pending jobs queued or running at once; beyond it `run` fails fast with
  ///        Errc::busy instead of letting memory and latency grow without bound.
  WorkerPool(std::size_t threads, std::size_t max_pending)
      : pool_(threads), max_pending_(max_pending) {}
  ~WorkerPool() { stop(); }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  /// Runs `fn` (returning Result<T>) on a worker. Errors: Errc::busy when the pool is full;
  /// Errc::internal when fn throws (the exception is not propagated onto network threads).
  template <class F>
  requires is_result<std::invoke_result_t<F&>>::value
      boost::asio::awaitable<std::invoke_result_t<F&>>
      run(F fn) {
    using R = std::invoke_result_t<F&>;
    if (pending_->fetch_add(1, std::memory_order_acq_rel) >= max_pending_) {
      pending_->fetch_sub(1, std::memory_order_acq_rel);
      co_return R(fail(Errc::busy, "server is busy, try again shortly"));
    }
    struct PendingGuard {
      std::shared_ptr<std::atomic<std::size_t>> counter;
      ~PendingGuard() { counter->fetch_sub(1, std::memory_order_acq_rel); }
    } guard{pending_};
    co_return co_await boost::asio::co_spawn(pool_.get_executor(), invoke(std::move(fn)),
                                             boost::asio::use_awaitable);
  }

  /// Runs `fn` on a worker without waiting for it. Not bounded by max_pending: it is for
  /// follow-up work that must not be dropped once the bounded part of a request succeeded (the
  /// translations of a message already stored). An exception from fn is swallowed (fn logs).
  template <class F>
  void post(F fn) {
    pending_->fetch_add(1, std::memory_order_acq_rel);
    boost::asio::post(pool_, [fn = std::move(fn), counter = pending_]() mutable {
      try {
        (void)fn();
      } catch (...) {  // NOLINT(bugprone-empty-catch): documented above
      }
      counter->fetch_sub(1, std::memory_order_acq_rel);
    });
  }

  std::size_t pending() const { return pending_->load(std::memory_order_relaxed); }
  std::size_t capacity() const { return max_pending_; }

  /// Finishes queued work and joins the threads. Idempotent.
  void stop() { pool_.join(); }

 private:
  template <class F>
  static boost::asio::awaitable<std::invoke_result_t<F&>> invoke(F fn) {
    using R = std::invoke_result_t<F&>;
    try {
      co_return fn();
    } catch (const std::exception& e) {
      co_return R(fail(Errc::internal, e.what()));
    }
  }

  boost::asio::thread_pool pool_;
  std::size_t max_pending_;
  // Shared with every waiting coroutine: a frame still suspended in run() when the pool is gone
  // (destroyed with its io_context at shutdown) must not count down freed memory.
  std::shared_ptr<std::atomic<std::size_t>> pending_ =
      std::make_shared<std::atomic<std::size_t>>(0);
};

}  // namespace parley::core
