#include "core/worker_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <future>
#include <thread>

namespace parley::core {
namespace {

namespace asio = boost::asio;

TEST(WorkerPool, RunsOffTheCallingThreadAndResumesOnIt) {
  asio::io_context io;
  WorkerPool pool(2, 8);
  const auto io_thread = std::this_thread::get_id();
  std::thread::id worker_thread;
  std::thread::id resumed_thread;
  int value = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto job = [&]() -> Result<int> {
          worker_thread = std::this_thread::get_id();
          return 42;
        };
        auto r = co_await pool.run(std::move(job));
        resumed_thread = std::this_thread::get_id();
        value = r.value();
      },
      asio::detached);
  io.run();
  EXPECT_EQ(value, 42);
  EXPECT_NE(worker_thread, io_thread);
  EXPECT_EQ(resumed_thread, io_thread);
}

struct Tally {
  std::atomic<int> busy{0};
  std::atomic<int> done{0};
};

// A spawned coroutine takes what it uses by value or by pointer to something that outlives it,
// never through lambda captures (the lambda object may be gone when the coroutine resumes).
asio::awaitable<void> occupy(WorkerPool* pool, std::shared_future<void> gate, Tally* tally) {
  // Named, not a temporary inside the co_await expression: see docs/architecture.md (GCC 12).
  auto job = [gate]() -> Result<int> {
    gate.wait();
    return 1;
  };
  auto r = co_await pool->run(std::move(job));
  if (!r && r.error().code == Errc::busy) ++tally->busy;
  if (r) ++tally->done;
}

TEST(WorkerPool, FailsFastWithBusyWhenFull) {
  Tally tally;
  std::promise<void> release;
  auto gate = release.get_future().share();
  WorkerPool pool(1, 2);
  asio::io_context io;
  for (int i = 0; i < 5; ++i) asio::co_spawn(io, occupy(&pool, gate, &tally), asio::detached);
  // Let the coroutines start; the first two occupy the pool, the other three are refused.
  io.poll();
  EXPECT_EQ(tally.busy.load(), 3);
  release.set_value();
  io.run();
  EXPECT_EQ(tally.done.load(), 2);
  EXPECT_EQ(pool.pending(), 0u);
}

TEST(WorkerPool, AnExceptionBecomesAnInternalError) {
  asio::io_context io;
  WorkerPool pool(1, 4);
  Result<int> outcome = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        outcome = co_await pool.run([]() -> Result<int> { throw std::runtime_error("boom"); });
      },
      asio::detached);
  io.run();
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, Errc::internal);
}

}  // namespace
}  // namespace parley::core
