#include "loop_pool.hpp"

#include <boost/asio/post.hpp>

namespace parley::loadgen {

namespace asio = boost::asio;

void Countdown::count_down() {
  std::lock_guard lock(mutex_);
  if (remaining_ > 0 && --remaining_ == 0) zero_.notify_all();
}

void Countdown::wait() {
  std::unique_lock lock(mutex_);
  zero_.wait(lock, [this] { return remaining_ == 0; });
}

bool Countdown::wait_until(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  return zero_.wait_until(lock, deadline, [this] { return remaining_ == 0; });
}

LoopPool::LoopPool(std::size_t threads) {
  for (std::size_t i = 0; i < threads; ++i) {
    // Concurrency hint 1: each context is run by exactly one thread, so Asio can skip locking.
    contexts_.push_back(std::make_unique<asio::io_context>(1));
    guards_.push_back(asio::make_work_guard(*contexts_.back()));
  }
  for (auto& context : contexts_) {
    threads_.emplace_back([ctx = context.get()] { ctx->run(); });
  }
}

LoopPool::~LoopPool() { stop(); }

void LoopPool::run_on_all(const std::function<void(std::size_t)>& fn) {
  Countdown done(contexts_.size());
  for (std::size_t i = 0; i < contexts_.size(); ++i) {
    asio::post(*contexts_[i], [&fn, &done, i] {
      fn(i);
      done.count_down();
    });
  }
  done.wait();
}

void LoopPool::stop() {
  for (auto& guard : guards_) guard.reset();
  for (auto& context : contexts_) context->stop();
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

}  // namespace parley::loadgen
