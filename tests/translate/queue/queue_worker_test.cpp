// QueueWorker end to end on SQLite and PostgreSQL, with a fake translate function: results,
// retries after failures, dead letters, and the crash story (a worker stopped mid-job; another
// takes the job over once the lease expires; on_done runs once overall).

#include "translate/queue/queue_worker.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <map>
#include <mutex>

#include "queue_test_support.hpp"
#include "translate/queue/message_translations.hpp"

namespace parley::translate {
namespace {

using namespace std::chrono_literals;

/// Collects on_done / on_dead calls and lets the test wait for a count.
class Deliveries {
 public:
  void done(const Job& job, const Translation& result) {
    std::lock_guard lock(mutex_);
    ++done_[job.id];
    texts_[job.id] = result.text;
    changed_.notify_all();
  }
  void dead(const Job& job, const Error& error) {
    std::lock_guard lock(mutex_);
    dead_[job.id] = error;
    changed_.notify_all();
  }
  bool wait_for(std::size_t done, std::size_t dead, std::chrono::milliseconds limit = 15s) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, limit,
                             [&] { return done_.size() >= done && dead_.size() >= dead; });
  }
  std::map<std::int64_t, int> done_counts() {
    std::lock_guard lock(mutex_);
    return done_;
  }
  std::map<std::int64_t, std::string> texts() {
    std::lock_guard lock(mutex_);
    return texts_;
  }
  std::map<std::int64_t, Error> dead_jobs() {
    std::lock_guard lock(mutex_);
    return dead_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::int64_t, int> done_;
  std::map<std::int64_t, std::string> texts_;
  std::map<std::int64_t, Error> dead_;
};

Result<Translation> fake_translation(const Job& job, std::string engine = "fake") {
  Translation t;
  t.text = "[" + job.target + "] " + job.text;
  t.source = job.source.value_or("en");
  t.target = job.target;
  t.engine = std::move(engine);
  return t;
}

class QueueWorkerTest : public test::DatabaseTest {
 protected:
  QueueOptions fast_retries() {
    QueueOptions o;
    o.max_attempts = 4;
    o.backoff_base = 20ms;
    o.backoff_cap = 100ms;
    o.jitter = 0.5;
    return o;
  }
  QueueWorkerOptions worker_options(std::string name, std::size_t threads = 3) {
    QueueWorkerOptions o;
    o.name = std::move(name);
    o.threads = threads;
    o.lease = 60s;
    o.idle_sleep = 20ms;
    return o;
  }
  NewJob job(std::string text, std::string target = "es") {
    NewJob j;
    j.text = std::move(text);
    j.source = "en";
    j.target = std::move(target);
    return j;
  }

  test::TestClock clock_;  // real time, advanced by the test to expire leases
  Deliveries deliveries_;
};

TEST_P(QueueWorkerTest, RunsEveryJobOnceRetryingFailuresAndDeadLetteringTheHopeless) {
  TranslationQueue queue(*db_, clock_, fast_retries());
  MessageTranslations translations(*db_, clock_);
  std::mutex mutex;
  std::map<std::string, int> runs;  // by text
  const auto translate = [&](const Job& j) -> Result<Translation> {
    int run = 0;
    {
      std::lock_guard lock(mutex);
      run = ++runs[j.text];
    }
    if (j.text == "flaky" && run <= 2) return fail(Errc::unavailable, "engine restarting");
    if (j.target == "ja") return fail(Errc::unsupported, "no engine translates en to ja");
    if (j.text == "throws") throw std::runtime_error("engine bug");
    if (j.text == "empty") return Translation{"", "en", j.target, "fake", {}};
    return fake_translation(j);
  };

  const auto message = add_message("Hello there");
  NewJob for_message = job("Hello there", "ca");
  for_message.message_id = message;

  QueueWorker worker(
      queue, translate, [&](const Job& j, const Translation& t) { deliveries_.done(j, t); },
      worker_options("main"), [&](const Job& j, const Error& e) { deliveries_.dead(j, e); });
  std::vector<std::int64_t> good;
  for (int i = 0; i < 20; ++i) good.push_back(*queue.enqueue(job("sentence " + std::to_string(i))));
  const auto flaky = *queue.enqueue(job("flaky"));
  const auto message_job = *queue.enqueue(for_message);
  const auto unsupported = *queue.enqueue(job("Hello", "ja"));
  const auto throws = *queue.enqueue(job("throws"));
  const auto empty = *queue.enqueue(job("empty"));
  worker.wake();

  ASSERT_TRUE(deliveries_.wait_for(22, 3)) << "jobs did not finish";
  auto counts = deliveries_.done_counts();
  EXPECT_EQ(counts.size(), 22u);
  for (const auto& [id, count] : counts) EXPECT_EQ(count, 1) << "job " << id;
  EXPECT_EQ(deliveries_.texts()[good[7]], "[es] sentence 7");
  EXPECT_EQ(deliveries_.texts()[flaky], "[es] flaky");

  auto flaky_record = *queue.find(flaky);
  ASSERT_TRUE(flaky_record);
  EXPECT_EQ(flaky_record->state, JobState::done);
  EXPECT_EQ(flaky_record->job.attempts, 3);
  EXPECT_TRUE(flaky_record->delivered_at);

  auto dead = deliveries_.dead_jobs();
  ASSERT_EQ(dead.size(), 3u);
  EXPECT_EQ(dead[unsupported].code, Errc::unsupported);
  EXPECT_EQ((*queue.find(unsupported))->job.attempts, 1);  // not retried
  // An exception is an internal error: retried, then dead after max_attempts.
  EXPECT_EQ(dead[throws].code, Errc::internal);
  EXPECT_EQ((*queue.find(throws))->job.attempts, 4);
  EXPECT_NE((*queue.find(throws))->last_error->find("engine bug"), std::string::npos);
  // An empty "translation" is never delivered.
  EXPECT_EQ(dead[empty].code, Errc::validation_failed);
  EXPECT_FALSE(counts.contains(empty));

  auto stored = translations.find(message, "ca");
  ASSERT_TRUE(stored && stored->has_value());
  EXPECT_EQ((*stored)->translation.text, "[ca] Hello there");
  EXPECT_EQ(deliveries_.texts()[message_job], "[ca] Hello there");

  worker.stop();
  auto stats = queue.stats();
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->done, 22);
  EXPECT_EQ(stats->dead, 3);
  EXPECT_EQ(stats->undelivered, 0);
  EXPECT_EQ(worker.completed(), 22u);
  EXPECT_EQ(worker.dead(), 3u);
  EXPECT_GE(worker.retried(), 5u);  // flaky twice, throws three times
}

TEST_P(QueueWorkerTest, AJobCutShortByAStopIsFinishedByTheNextWorkerExactlyOnce) {
  TranslationQueue queue(*db_, clock_, fast_retries());
  std::mutex mutex;
  std::condition_variable changed;
  bool started = false;
  bool release = false;
  const auto blocking = [&](const Job& j) -> Result<Translation> {
    std::unique_lock lock(mutex);
    started = true;
    changed.notify_all();
    changed.wait(lock, [&] { return release; });
    return fake_translation(j, "first");
  };
  const auto on_done = [&](const Job& j, const Translation& t) { deliveries_.done(j, t); };

  const auto id = *queue.enqueue(job("in flight"));
  auto first = std::make_unique<QueueWorker>(queue, blocking, on_done, worker_options("a", 1));
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(changed.wait_for(lock, 10s, [&] { return started; }));
  }
  // "Crash": the worker is stopped while the engine is busy with the job.
  first->request_stop();
  {
    std::lock_guard lock(mutex);
    release = true;
  }
  changed.notify_all();
  first->stop();
  const auto owner_a = first->owners().front();
  first.reset();
  auto left = *queue.find(id);
  ASSERT_TRUE(left);
  EXPECT_EQ(left->state, JobState::running);
  EXPECT_EQ(left->lease_owner, owner_a);
  EXPECT_TRUE(deliveries_.done_counts().empty());

  std::atomic<int> second_runs{0};
  QueueWorker second(
      queue,
      [&](const Job& j) -> Result<Translation> {
        ++second_runs;
        return fake_translation(j, "second");
      },
      on_done, worker_options("b", 2));
  // The lease has not expired yet: the job is not taken over.
  std::this_thread::sleep_for(150ms);
  EXPECT_EQ(second_runs.load(), 0);
  clock_.advance(61s);
  second.wake();
  ASSERT_TRUE(deliveries_.wait_for(1, 0));
  std::this_thread::sleep_for(150ms);  // time for a wrong second delivery to show up
  second.stop();
  EXPECT_EQ(second_runs.load(), 1);
  auto counts = deliveries_.done_counts();
  ASSERT_EQ(counts.size(), 1u);
  EXPECT_EQ(counts[id], 1);
  auto finished = *queue.find(id);
  ASSERT_TRUE(finished);
  EXPECT_EQ(finished->state, JobState::done);
  EXPECT_EQ(finished->job.attempts, 2);
  EXPECT_EQ(finished->result->engine, "second");
  EXPECT_NE(finished->lease_owner, owner_a);
  EXPECT_EQ(finished->lease_owner->rfind("b/", 0), 0u);
  EXPECT_TRUE(finished->delivered_at);
}

TEST_P(QueueWorkerTest, WakeSkipsTheIdleSleepAndBadOptionsAreRefused) {
  TranslationQueue queue(*db_, clock_, fast_retries());
  const auto translate = [](const Job& j) { return fake_translation(j); };
  const auto on_done = [&](const Job& j, const Translation& t) { deliveries_.done(j, t); };
  auto slow = worker_options("idle", 1);
  slow.idle_sleep = 30s;
  {
    QueueWorker worker(queue, translate, on_done, slow);
    std::this_thread::sleep_for(100ms);  // the thread is now asleep on an empty queue
    const auto started = std::chrono::steady_clock::now();
    ASSERT_TRUE(queue.enqueue(job("wake up")));
    worker.wake();
    ASSERT_TRUE(deliveries_.wait_for(1, 0, 5s));
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  }  // the destructor stops a sleeping worker at once

  auto no_threads = worker_options("x", 0);
  EXPECT_THROW(QueueWorker(queue, translate, on_done, no_threads), std::invalid_argument);
  EXPECT_THROW(QueueWorker(queue, TranslateFunction{}, on_done, worker_options("x")),
               std::invalid_argument);
  EXPECT_THROW(QueueWorker(queue, translate, on_done, worker_options("")), std::invalid_argument);
}

// Issue 11: an overloaded server pauses its workers; queued jobs wait in the queue (nothing is
// lost) and run once resumed.
TEST_P(QueueWorkerTest, APausedWorkerLeavesJobsQueuedAndRunsThemWhenResumed) {
  TranslationQueue queue(*db_, clock_, fast_retries());
  const auto translate = [](const Job& j) { return fake_translation(j); };
  const auto on_done = [&](const Job& j, const Translation& t) { deliveries_.done(j, t); };
  QueueWorker worker(queue, translate, on_done, worker_options("paused", 2));
  worker.set_paused(true);
  EXPECT_TRUE(worker.paused());
  std::this_thread::sleep_for(50ms);  // every thread is past its last claim
  ASSERT_TRUE(queue.enqueue(job("wait for me")));
  ASSERT_TRUE(queue.enqueue(job("and me", "fr")));
  worker.wake();
  EXPECT_FALSE(deliveries_.wait_for(1, 0, 300ms));
  auto stats = queue.stats();
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->queued, 2);
  EXPECT_EQ(stats->running, 0);
  worker.set_paused(false);
  ASSERT_TRUE(deliveries_.wait_for(2, 0, 10s));
  EXPECT_EQ(deliveries_.done_counts().size(), 2u);
}

// Issue 8: a job remembers the request that queued it, and its runs log that request id (on
// whichever process claims it), so that GET /api/admin/logs?request_id=... shows them too.
TEST_P(QueueWorkerTest, JobLogLinesCarryTheRequestIdThatQueuedIt) {
  class Lines final : public core::LogSink {
   public:
    void write_line(std::string_view line) override {
      std::lock_guard lock(mutex);
      all.emplace_back(line);
    }
    std::vector<std::string> with(std::string_view needle) {
      std::lock_guard lock(mutex);
      std::vector<std::string> out;
      for (const auto& line : all) {
        if (line.find(needle) != std::string::npos) out.push_back(line);
      }
      return out;
    }
    std::mutex mutex;
    std::vector<std::string> all;
  } lines;
  core::Logger log(lines, core::LogLevel::debug);
  TranslationQueue queue(*db_, clock_, fast_retries());
  auto traced = job("hello");
  traced.request_id = "sock-1:7";
  auto traced_id = queue.enqueue(traced);
  ASSERT_TRUE(traced_id);
  auto hopeless = job("never", "fr");
  hopeless.request_id = "req-http-9";
  ASSERT_TRUE(queue.enqueue(hopeless));
  auto plain = job("untraced", "de");
  ASSERT_TRUE(queue.enqueue(plain));
  auto stored = queue.find(*traced_id);
  ASSERT_TRUE(stored && *stored);
  EXPECT_EQ((*stored)->job.request_id, "sock-1:7");

  const auto translate = [](const Job& j) -> Result<Translation> {
    if (j.target == "fr") return fail(Errc::unsupported, "no engine for en-fr");
    return fake_translation(j);
  };
  const auto on_done = [&](const Job& j, const Translation& t) { deliveries_.done(j, t); };
  const auto on_dead = [&](const Job& j, const Error& e) { deliveries_.dead(j, e); };
  auto options = worker_options("traced", 1);
  options.logger = &log;
  {
    QueueWorker worker(queue, translate, on_done, options, on_dead);
    ASSERT_TRUE(deliveries_.wait_for(2, 1));
  }
  EXPECT_EQ(lines.with("\"event\":\"translation_job_started\"").size(), 3u);
  const auto done = lines.with("\"event\":\"translation_job_done\"");
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(lines.with("\"request_id\":\"sock-1:7\"").size(), 2u) << "started and done";
  const auto failed = lines.with("\"event\":\"translation_job_failed\"");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_NE(failed[0].find("\"request_id\":\"req-http-9\""), std::string::npos) << failed[0];
  EXPECT_NE(failed[0].find("\"outcome\":\"dead\""), std::string::npos) << failed[0];
  // A job nobody traced logs no request id.
  for (const auto& line : lines.with("\"target\":\"de\"")) {
    EXPECT_EQ(line.find("request_id"), std::string::npos) << line;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, QueueWorkerTest,
                         ::testing::Values(testing::DatabaseKind::sqlite,
                                           testing::DatabaseKind::postgres),
                         test::backend_name);

}  // namespace
}  // namespace parley::translate
