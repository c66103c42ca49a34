// TranslationQueue and MessageTranslations against real databases (SQLite and PostgreSQL):
// idempotent enqueue, claim order, run_after, leases and their expiry, retries with backoff,
// dead letters, delivery, stored translations and cascades, and concurrent claimers.

#include "translate/queue/translation_queue.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <set>
#include <thread>

#include "queue_test_support.hpp"
#include "translate/queue/message_translations.hpp"

namespace parley::translate {
namespace {

using namespace std::chrono_literals;
using test::TestClock;

constexpr std::int64_t kStart = 1'700'000'000'000;

Translation translated(std::string text, std::vector<std::string> via = {}) {
  Translation t;
  t.text = std::move(text);
  t.source = "en";
  t.target = "ca";
  t.engine = "apertium";
  t.via = std::move(via);
  return t;
}

NewJob ad_hoc(std::string text, std::string target = "es") {
  NewJob job;
  job.text = std::move(text);
  job.source = "en";
  job.target = std::move(target);
  return job;
}

class TranslationQueueTest : public test::DatabaseTest {
 protected:
  QueueOptions options(int max_attempts = 5) {
    QueueOptions o;
    o.max_attempts = max_attempts;
    o.backoff_base = 1000ms;
    o.backoff_cap = 5000ms;
    o.jitter = 0.0;
    return o;
  }
  NewJob for_message(std::int64_t message, std::string target) {
    NewJob job;
    job.message_id = message;
    job.room_id = room_;
    job.text = "Hello, how are you?";
    job.target = std::move(target);
    return job;
  }
  JobRecord record(TranslationQueue& queue, std::int64_t id) {
    auto found = queue.find(id);
    EXPECT_TRUE(found && found->has_value());
    return found && found->has_value() ? **found : JobRecord{};
  }

  TestClock clock_{kStart};
};

TEST_P(TranslationQueueTest, EnqueueIsIdempotentPerMessageAndTarget) {
  TranslationQueue queue(*db_, clock_, options());
  const auto message = add_message("Hello");
  auto es = queue.enqueue(for_message(message, "es"));
  ASSERT_TRUE(es) << es.error().message;
  auto again = queue.enqueue(for_message(message, "es"));
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *es);
  auto ca = queue.enqueue(for_message(message, "ca"));
  ASSERT_TRUE(ca);
  EXPECT_NE(*ca, *es);
  // Ad hoc jobs (no message) never collide.
  auto first = queue.enqueue(ad_hoc("Hello"));
  auto second = queue.enqueue(ad_hoc("Hello"));
  ASSERT_TRUE(first && second);
  EXPECT_NE(*first, *second);
  // Still idempotent once the job has finished.
  auto claimed = queue.claim("w", 10, 60s);
  ASSERT_TRUE(claimed);
  ASSERT_TRUE(queue.complete(*es, "w", translated("Hola")));
  EXPECT_EQ(*queue.enqueue(for_message(message, "es")), *es);

  auto stats = queue.stats();
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->done, 1);
  EXPECT_EQ(stats->running, 3);
  EXPECT_EQ(stats->queued, 0);
  const auto stored = record(queue, *es);
  EXPECT_EQ(stored.job.message_id, message);
  EXPECT_EQ(stored.job.room_id, room_);
  EXPECT_FALSE(stored.job.source);  // detect
  EXPECT_EQ(stored.job.max_attempts, 5);
  EXPECT_EQ(stored.state, JobState::done);
}

TEST_P(TranslationQueueTest, EnqueueRejectsBadInput) {
  TranslationQueue queue(*db_, clock_, options());
  const auto expect_invalid = [&](const NewJob& job) {
    auto id = queue.enqueue(job);
    ASSERT_FALSE(id);
    EXPECT_EQ(id.error().code, Errc::validation_failed) << id.error().message;
  };
  expect_invalid(ad_hoc(""));
  expect_invalid(ad_hoc(std::string(kMaxTranslationBytes + 1, 'a')));
  expect_invalid(ad_hoc("Hello", ""));
  expect_invalid(ad_hoc("Hello", "e s"));
  expect_invalid(ad_hoc("Hello", "es'; DROP TABLE messages; --"));
  auto bad_source = ad_hoc("Hello");
  bad_source.source = "";
  expect_invalid(bad_source);
  auto no_engine = ad_hoc("Hello");
  no_engine.engine = "";
  expect_invalid(no_engine);
  expect_invalid(for_message(987654, "es"));  // no such message
  auto no_room = ad_hoc("Hello");
  no_room.room_id = 987654;
  expect_invalid(no_room);
  EXPECT_TRUE(queue.enqueue(ad_hoc(std::string(kMaxTranslationBytes, 'a'))));
  EXPECT_EQ(queue.stats()->queued, 1);

  EXPECT_EQ(queue.claim("", 1, 60s).error().code, Errc::validation_failed);
  EXPECT_EQ(queue.claim("w", 1, 0ms).error().code, Errc::validation_failed);
  EXPECT_TRUE(queue.claim("w", 0, 60s)->empty());
  EXPECT_THROW(TranslationQueue(*db_, clock_, options(0)), std::invalid_argument);
}

TEST_P(TranslationQueueTest, AnAdHocScopeLeavesMessageJobsToServers) {
  TranslationQueue queue(*db_, clock_, options());
  const auto message = add_message("Hello");
  const auto for_room = *queue.enqueue(for_message(message, "es"));
  clock_.advance(10ms);
  const auto batch = *queue.enqueue(ad_hoc("Hello"));
  auto claimed = queue.claim("batch", 5, 30s, JobScope::ad_hoc);
  ASSERT_TRUE(claimed) << claimed.error().message;
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ((*claimed)[0].id, batch);
  auto server = queue.claim("server", 5, 30s);
  ASSERT_TRUE(server);
  ASSERT_EQ(server->size(), 1u);
  EXPECT_EQ((*server)[0].id, for_room);
}

TEST_P(TranslationQueueTest, ClaimsOldestFirstAndWaitsForRunAfter) {
  TranslationQueue queue(*db_, clock_, options());
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(*queue.enqueue(ad_hoc("text " + std::to_string(i))));
    clock_.advance(10ms);
  }
  auto first = queue.claim("w1", 2, 30s);
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].id, ids[0]);
  EXPECT_EQ((*first)[1].id, ids[1]);
  EXPECT_EQ((*first)[0].text, "text 0");
  EXPECT_EQ((*first)[0].source, "en");
  EXPECT_EQ((*first)[0].target, "es");
  EXPECT_EQ((*first)[0].attempts, 1);
  EXPECT_EQ((*first)[0].lease_expires_at, clock_.now_ms() + 30'000);
  const auto running = record(queue, ids[0]);
  EXPECT_EQ(running.state, JobState::running);
  EXPECT_EQ(running.lease_owner, "w1");

  auto second = queue.claim("w2", 5, 30s);
  ASSERT_TRUE(second);
  ASSERT_EQ(second->size(), 1u);
  EXPECT_EQ((*second)[0].id, ids[2]);
  EXPECT_TRUE(queue.claim("w3", 5, 30s)->empty());

  // A failed run waits for its backoff before anyone claims it again.
  auto retried = queue.retry_later(ids[0], "w1", Error(Errc::unavailable, "engine restarting"));
  ASSERT_TRUE(retried) << retried.error().message;
  EXPECT_EQ(retried->kind, RetryOutcome::Kind::requeued);
  EXPECT_EQ(retried->run_after, clock_.now_ms() + 1000);
  EXPECT_TRUE(queue.claim("w3", 5, 30s)->empty());
  clock_.advance(999ms);
  EXPECT_TRUE(queue.claim("w3", 5, 30s)->empty());
  clock_.advance(1ms);
  auto again = queue.claim("w3", 5, 30s);
  ASSERT_TRUE(again);
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ((*again)[0].id, ids[0]);
  EXPECT_EQ((*again)[0].attempts, 2);
}

TEST_P(TranslationQueueTest, AnExpiredLeaseHandsTheJobToAnotherWorker) {
  TranslationQueue queue(*db_, clock_, options());
  const auto id = *queue.enqueue(ad_hoc("Hello"));
  ASSERT_EQ(queue.claim("crashed", 1, 10s)->size(), 1u);
  clock_.advance(9'999ms);
  EXPECT_TRUE(queue.claim("rescuer", 1, 10s)->empty());  // lease still valid
  clock_.advance(1ms);
  auto rescued = queue.claim("rescuer", 1, 10s);
  ASSERT_TRUE(rescued);
  ASSERT_EQ(rescued->size(), 1u);
  EXPECT_EQ((*rescued)[0].id, id);
  EXPECT_EQ((*rescued)[0].attempts, 2);

  // The first worker comes back to life: it lost the job and must not deliver it.
  auto late = queue.complete(id, "crashed", translated("Hola"));
  ASSERT_TRUE(late) << late.error().message;
  EXPECT_FALSE(*late);
  EXPECT_EQ(queue.retry_later(id, "crashed", Error(Errc::timeout, "x"))->kind,
            RetryOutcome::Kind::lost);
  auto done = queue.complete(id, "rescuer", translated("Hola"));
  ASSERT_TRUE(done);
  EXPECT_TRUE(*done);
  EXPECT_FALSE(*queue.complete(id, "rescuer", translated("Hola")));  // already done
  const auto stored = record(queue, id);
  EXPECT_EQ(stored.state, JobState::done);
  EXPECT_EQ(stored.lease_owner, "rescuer");
  ASSERT_TRUE(stored.result);
  EXPECT_EQ(stored.result->text, "Hola");
  EXPECT_EQ(stored.completed_at, clock_.now_ms());
}

TEST_P(TranslationQueueTest, AJobThatKeepsKillingItsWorkerEndsDead) {
  TranslationQueue queue(*db_, clock_, options(2));
  const auto id = *queue.enqueue(ad_hoc("poison"));
  ASSERT_EQ(queue.claim("a", 1, 1s)->size(), 1u);
  clock_.advance(1s);
  ASSERT_EQ(queue.claim("b", 1, 1s)->size(), 1u);
  clock_.advance(1s);
  EXPECT_TRUE(queue.claim("c", 1, 1s)->empty());
  const auto stored = record(queue, id);
  EXPECT_EQ(stored.state, JobState::dead);
  EXPECT_EQ(stored.job.attempts, 2);
  ASSERT_TRUE(stored.last_error);
  EXPECT_NE(stored.last_error->find("stopped"), std::string::npos);
}

TEST_P(TranslationQueueTest, RetriesBackOffExponentiallyThenDeadLetter) {
  TranslationQueue queue(*db_, clock_, options(5));
  const auto id = *queue.enqueue(ad_hoc("Hello"));
  const std::int64_t expected_delays[] = {1000, 2000, 4000, 5000};  // capped at 5000
  for (const auto delay : expected_delays) {
    auto jobs = queue.claim("w", 1, 30s);
    ASSERT_TRUE(jobs);
    ASSERT_EQ(jobs->size(), 1u);
    auto outcome = queue.retry_later(id, "w", Error(Errc::timeout, "the engine timed out"));
    ASSERT_TRUE(outcome) << outcome.error().message;
    ASSERT_EQ(outcome->kind, RetryOutcome::Kind::requeued);
    EXPECT_EQ(outcome->run_after - clock_.now_ms(), delay);
    const auto stored = record(queue, id);
    EXPECT_EQ(stored.state, JobState::queued);
    EXPECT_EQ(stored.last_error, "the engine timed out");
    EXPECT_EQ(stored.last_error_code, "timeout");
    EXPECT_FALSE(stored.lease_owner);
    clock_.advance(std::chrono::milliseconds(delay));
  }
  ASSERT_EQ(queue.claim("w", 1, 30s)->size(), 1u);
  auto last = queue.retry_later(id, "w", Error(Errc::unavailable, "still down"));
  ASSERT_TRUE(last);
  EXPECT_EQ(last->kind, RetryOutcome::Kind::dead);
  const auto stored = record(queue, id);
  EXPECT_EQ(stored.state, JobState::dead);
  EXPECT_EQ(stored.job.attempts, 5);
  EXPECT_EQ(stored.last_error, "still down");
  EXPECT_EQ(stored.last_error_code, "unavailable");
  clock_.advance(1h);
  EXPECT_TRUE(queue.claim("w", 1, 30s)->empty());
  EXPECT_EQ(queue.stats()->dead, 1);
}

TEST_P(TranslationQueueTest, RetryAfterFromTheEngineIsHonouredAndJitterStaysInBounds) {
  TranslationQueue queue(*db_, clock_, options());
  const auto id = *queue.enqueue(ad_hoc("Hello"));
  ASSERT_EQ(queue.claim("w", 1, 30s)->size(), 1u);
  auto outcome = queue.retry_later(id, "w", Error(Errc::rate_limited, "slow down", 30s));
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->run_after - clock_.now_ms(), 30'000);

  QueueOptions jittery = options();
  jittery.jitter = 0.5;
  TranslationQueue with_jitter(*db_, clock_, jittery);
  std::set<std::int64_t> seen;
  for (int i = 0; i < 200; ++i) {
    const auto first = with_jitter.backoff(1).count();
    const auto third = with_jitter.backoff(3).count();
    EXPECT_GE(first, 500);
    EXPECT_LE(first, 1000);
    EXPECT_GE(third, 2000);
    EXPECT_LE(third, 4000);
    EXPECT_LE(with_jitter.backoff(60).count(), 5000);
    seen.insert(first);
  }
  EXPECT_GT(seen.size(), 10u);  // it does vary
}

TEST_P(TranslationQueueTest, NonRetryableErrorsGoDeadAtOnce) {
  TranslationQueue queue(*db_, clock_, options());
  const auto unsupported = *queue.enqueue(ad_hoc("Hello", "ja"));
  const auto invalid = *queue.enqueue(ad_hoc("Hello", "fr"));
  ASSERT_EQ(queue.claim("w", 2, 30s)->size(), 2u);
  auto a = queue.retry_later(unsupported, "w",
                             Error(Errc::unsupported, "no engine translates en to ja"));
  auto b = queue.retry_later(invalid, "w", Error(Errc::validation_failed, "text too long"));
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->kind, RetryOutcome::Kind::dead);
  EXPECT_EQ(b->kind, RetryOutcome::Kind::dead);
  const auto stored = record(queue, unsupported);
  EXPECT_EQ(stored.state, JobState::dead);
  EXPECT_EQ(stored.job.attempts, 1);
  EXPECT_EQ(stored.last_error, "no engine translates en to ja");
  EXPECT_EQ(stored.last_error_code, "unsupported");
  EXPECT_FALSE(stored.result);
  EXPECT_FALSE(is_retryable(Errc::unsupported));
  EXPECT_TRUE(is_retryable(Errc::rate_limited));
  EXPECT_TRUE(is_retryable(Errc::timeout));

  // A very long error message is cut, not rejected (and never mid-character).
  const auto long_error = *queue.enqueue(ad_hoc("Hello", "de"));
  ASSERT_EQ(queue.claim("w", 1, 30s)->size(), 1u);
  std::string message;
  for (int i = 0; i < 2000; ++i) message += "é";
  ASSERT_TRUE(queue.retry_later(long_error, "w", Error(Errc::unsupported, message)));
  const auto cut = record(queue, long_error).last_error.value_or("");
  EXPECT_LE(cut.size(), 1000u);
  EXPECT_EQ(cut.size() % 2, 0u);
}

TEST_P(TranslationQueueTest, DeliveryIsMarkedOnce) {
  TranslationQueue queue(*db_, clock_, options());
  const auto id = *queue.enqueue(ad_hoc("Hello"));
  auto early = queue.mark_delivered(id);
  ASSERT_FALSE(early);
  EXPECT_EQ(early.error().code, Errc::conflict);
  EXPECT_EQ(queue.mark_delivered(424242).error().code, Errc::not_found);
  ASSERT_EQ(queue.claim("w", 1, 30s)->size(), 1u);
  ASSERT_TRUE(*queue.complete(id, "w", translated("Hola", {"fr"})));

  auto pending = queue.undelivered(10);
  ASSERT_TRUE(pending);
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].job.id, id);
  EXPECT_EQ((*pending)[0].result.text, "Hola");
  EXPECT_EQ((*pending)[0].result.via, std::vector<std::string>{"fr"});
  EXPECT_EQ(queue.stats()->undelivered, 1);

  auto first = queue.mark_delivered(id);
  ASSERT_TRUE(first);
  EXPECT_TRUE(*first);
  auto second = queue.mark_delivered(id);
  ASSERT_TRUE(second);
  EXPECT_FALSE(*second);
  EXPECT_TRUE(queue.undelivered(10)->empty());
  EXPECT_EQ(queue.stats()->undelivered, 0);
  EXPECT_TRUE(record(queue, id).delivered_at);
}

TEST_P(TranslationQueueTest, CompleteRejectsAnEmptyTranslation) {
  TranslationQueue queue(*db_, clock_, options());
  const auto id = *queue.enqueue(ad_hoc("Hello"));
  ASSERT_EQ(queue.claim("w", 1, 30s)->size(), 1u);
  auto empty = queue.complete(id, "w", translated(""));
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, Errc::validation_failed);
  auto nameless = translated("Hola");
  nameless.engine.clear();
  EXPECT_FALSE(queue.complete(id, "w", nameless));
  EXPECT_EQ(record(queue, id).state, JobState::running);
}

TEST_P(TranslationQueueTest, MessageTranslationsAreStoredWithTheJobAndReadBack) {
  TranslationQueue queue(*db_, clock_, options());
  MessageTranslations translations(*db_, clock_);
  const auto message = add_message("Hello");
  const auto other = add_message("Bye");
  const auto id = *queue.enqueue(for_message(message, "ca"));
  ASSERT_EQ(queue.claim("w", 1, 30s)->size(), 1u);
  ASSERT_TRUE(*queue.complete(id, "w", translated("Hola, com estàs?", {"es"})));

  auto found = translations.find(message, "ca");
  ASSERT_TRUE(found) << found.error().message;
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->message_id, message);
  EXPECT_EQ((*found)->translation.text, "Hola, com estàs?");
  EXPECT_EQ((*found)->translation.target, "ca");
  EXPECT_EQ((*found)->translation.source, "en");
  EXPECT_EQ((*found)->translation.engine, "apertium");
  EXPECT_EQ((*found)->translation.via, std::vector<std::string>{"es"});
  EXPECT_EQ((*found)->created_at, clock_.now_ms());
  EXPECT_FALSE(translations.find(message, "es")->has_value());

  Translation spanish = translated("Hola");
  spanish.target = "es";
  auto put = translations.put(message, spanish);
  ASSERT_TRUE(put) << put.error().message;
  EXPECT_TRUE(*put);
  Translation replacement = spanish;
  replacement.text = "Buenas";
  EXPECT_FALSE(*translations.put(message, replacement));  // the first one stays
  Translation bye = translated("Adéu");
  ASSERT_TRUE(translations.put(other, bye));
  EXPECT_EQ(translations.put(987654, bye).error().code, Errc::validation_failed);
  EXPECT_EQ(translations.put(message, translated("")).error().code, Errc::validation_failed);

  const std::vector<std::int64_t> page{other, message, 987654};
  auto all = translations.find(page);
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].message_id, std::min(message, other));
  auto catalan = translations.find(page, "ca");
  ASSERT_TRUE(catalan);
  EXPECT_EQ(catalan->size(), 2u);
  for (const auto& t : *catalan) EXPECT_EQ(t.translation.target, "ca");
  auto spanish_only = translations.find(page, "es");
  ASSERT_EQ(spanish_only->size(), 1u);
  EXPECT_EQ((*spanish_only)[0].translation.text, "Hola");
  EXPECT_TRUE(translations.find(std::vector<std::int64_t>{})->empty());
  EXPECT_EQ(translations.find(std::vector<std::int64_t>(1001, message)).error().code,
            Errc::validation_failed);

  // An ad hoc job stores nothing with messages.
  const auto loose = *queue.enqueue(ad_hoc("Hello", "ca"));
  ASSERT_EQ(queue.claim("w", 1, 30s)->size(), 1u);
  ASSERT_TRUE(*queue.complete(loose, "w", translated("Hola")));
  EXPECT_EQ(translations.find(page)->size(), 3u);
}

TEST_P(TranslationQueueTest, ATranslationIsSettledOnceItsDeliveryIsMarked) {
  TranslationQueue queue(*db_, clock_, options());
  MessageTranslations stored(*db_, clock_);
  const auto message = add_message("Hello");
  const std::int64_t ids[] = {message};
  const auto job = *queue.enqueue(for_message(message, "es"));
  ASSERT_EQ(queue.claim("w", 1, 30s)->size(), 1u);
  auto es = translated("Hola");
  es.target = "es";
  ASSERT_TRUE(*queue.complete(job, "w", es));
  // Stored, but its delivery is still to come: catch-up reads must leave it to the delivery.
  EXPECT_EQ(stored.find(ids, "es")->size(), 1u);
  EXPECT_TRUE(stored.find_settled(ids, "es")->empty());
  ASSERT_TRUE(*queue.mark_delivered(job));
  auto settled = stored.find_settled(ids, "es");
  ASSERT_TRUE(settled) << settled.error().message;
  ASSERT_EQ(settled->size(), 1u);
  EXPECT_EQ((*settled)[0].translation.text, "Hola");
  // Stored without a job (a cache hit): settled at once.
  auto ca = translated("Hola (ca)");
  ASSERT_TRUE(*stored.put(message, ca));
  EXPECT_EQ(stored.find_settled(ids, "ca")->size(), 1u);
  EXPECT_TRUE(stored.find_settled(ids, "fr")->empty());
}

TEST_P(TranslationQueueTest, DeletingTheMessageRemovesItsJobsAndTranslations) {
  TranslationQueue queue(*db_, clock_, options());
  MessageTranslations translations(*db_, clock_);
  const auto message = add_message("Hello");
  const auto done = *queue.enqueue(for_message(message, "ca"));
  const auto waiting = *queue.enqueue(for_message(message, "es"));
  const auto loose = *queue.enqueue(ad_hoc("Hello"));
  ASSERT_EQ(queue.claim("w", 1, 30s)->size(), 1u);
  ASSERT_TRUE(*queue.complete(done, "w", translated("Hola")));
  ASSERT_TRUE(translations.find(message, "ca")->has_value());

  auto lease = db_->acquire();
  ASSERT_TRUE(lease);
  ASSERT_TRUE((*lease)->execute("DELETE FROM messages WHERE id = $1", {message}));
  lease->reset();
  EXPECT_FALSE(translations.find(message, "ca")->has_value());
  EXPECT_FALSE(queue.find(done)->has_value());
  EXPECT_FALSE(queue.find(waiting)->has_value());
  EXPECT_TRUE(queue.find(loose)->has_value());
}

TEST_P(TranslationQueueTest, PurgeRemovesOnlyFinishedJobs) {
  TranslationQueue queue(*db_, clock_, options());
  const auto delivered = *queue.enqueue(ad_hoc("a"));
  const auto undelivered = *queue.enqueue(ad_hoc("b"));
  const auto dead = *queue.enqueue(ad_hoc("c"));
  const auto waiting = *queue.enqueue(ad_hoc("d"));
  ASSERT_EQ(queue.claim("w", 3, 30s)->size(), 3u);
  ASSERT_TRUE(*queue.complete(delivered, "w", translated("A")));
  ASSERT_TRUE(*queue.mark_delivered(delivered));
  ASSERT_TRUE(*queue.complete(undelivered, "w", translated("B")));
  ASSERT_TRUE(queue.retry_later(dead, "w", Error(Errc::unsupported, "no")));
  EXPECT_EQ(*queue.purge_finished(clock_.now_ms()), 0);  // not older than now
  clock_.advance(1s);
  EXPECT_EQ(*queue.purge_finished(clock_.now_ms()), 2);
  EXPECT_FALSE(queue.find(delivered)->has_value());
  EXPECT_FALSE(queue.find(dead)->has_value());
  EXPECT_TRUE(queue.find(undelivered)->has_value());
  EXPECT_TRUE(queue.find(waiting)->has_value());
}

// Several pools (as several processes would) claim from one queue at once: every job is
// claimed by exactly one worker and completed exactly once.
TEST_P(TranslationQueueTest, ConcurrentClaimersNeverShareAJob) {
  constexpr int kJobs = 120;
  auto other_db = open();
  ASSERT_TRUE(other_db);
  TranslationQueue first(*db_, clock_, options());
  TranslationQueue second(*other_db, clock_, options());
  std::set<std::int64_t> all;
  for (int i = 0; i < kJobs; ++i) all.insert(*first.enqueue(ad_hoc("job " + std::to_string(i))));

  std::mutex mutex;
  std::vector<std::int64_t> claimed;
  std::vector<std::int64_t> completed;
  std::vector<std::string> errors;
  const auto work = [&](TranslationQueue& queue, std::string name) {
    int empty = 0;
    while (empty < 3) {
      auto jobs = queue.claim(name, 3, 60s);
      if (!jobs) {
        std::lock_guard lock(mutex);
        errors.push_back(jobs.error().message);
        return;
      }
      if (jobs->empty()) {
        ++empty;
        std::this_thread::sleep_for(5ms);
        continue;
      }
      empty = 0;
      for (const auto& job : *jobs) {
        auto done = queue.complete(job.id, name, translated("t: " + job.text));
        std::lock_guard lock(mutex);
        claimed.push_back(job.id);
        if (done && *done) completed.push_back(job.id);
        if (!done) errors.push_back(done.error().message);
      }
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back(work, std::ref(i % 2 == 0 ? first : second), "w" + std::to_string(i));
  }
  for (auto& thread : threads) thread.join();

  EXPECT_TRUE(errors.empty()) << errors.front();
  EXPECT_EQ(claimed.size(), static_cast<std::size_t>(kJobs));  // nobody claimed a job twice
  EXPECT_EQ(std::set<std::int64_t>(claimed.begin(), claimed.end()), all);
  EXPECT_EQ(completed.size(), static_cast<std::size_t>(kJobs));
  EXPECT_EQ(first.stats()->done, kJobs);
}

// A corrected message is translated afresh: its jobs and stored translations go, and a worker
// that was still running one of its jobs can neither store nor deliver the stale result.
TEST_P(TranslationQueueTest, ForgettingAMessageDropsItsJobsAndTranslationsAndStrandsRunningOnes) {
  TranslationQueue queue(*db_, clock_, options());
  MessageTranslations stored(*db_, clock_);
  const auto message = add_message("Hello");
  const auto other = add_message("Bye");
  ASSERT_TRUE(queue.enqueue(for_message(message, "es")));
  ASSERT_TRUE(queue.enqueue(for_message(message, "ca")));
  ASSERT_TRUE(queue.enqueue(for_message(other, "es")));
  auto claimed = queue.claim("w", 1, 60s);
  ASSERT_TRUE(claimed && claimed->size() == 1u);
  const Job running = claimed->front();
  ASSERT_EQ(running.message_id, message);
  ASSERT_TRUE(stored.put(message, translated("Hola")));

  auto forgotten = queue.forget_message(message);
  ASSERT_TRUE(forgotten) << forgotten.error().message;
  EXPECT_EQ(*forgotten, 2);
  EXPECT_FALSE(*queue.job_for(message, "es"));
  EXPECT_FALSE(*queue.job_for(message, "ca"));
  EXPECT_TRUE(*queue.job_for(other, "es")) << "other messages keep theirs";
  const std::int64_t ids[] = {message};
  EXPECT_TRUE(stored.find(ids)->empty());

  Translation late = translated("Hola (stale)");
  late.target = running.target;
  auto completed = queue.complete(running.id, "w", late);
  ASSERT_TRUE(completed);
  EXPECT_FALSE(*completed) << "the stale result must not be delivered";
  EXPECT_TRUE(stored.find(ids)->empty()) << "nor stored";
  // And the message can be queued again, from scratch.
  auto again = queue.enqueue(for_message(message, "es"));
  ASSERT_TRUE(again);
  EXPECT_EQ(record(queue, *again).state, JobState::queued);
  EXPECT_EQ(*queue.forget_message(987654), 0);
}

// After a correction, work that still carries the old language is refused: a job queued from it
// and a translation stored from it (they would take the slot of the fresh translation).
TEST_P(TranslationQueueTest, AJobOrTranslationFromALanguageTheMessageNoLongerHasIsRefused) {
  TranslationQueue queue(*db_, clock_, options());
  MessageTranslations stored(*db_, clock_);
  const auto message = add_message("Hola amigos");
  sql("UPDATE messages SET original_language = 'es-MX' WHERE id = $1", {message});
  NewJob stale = for_message(message, "ca");
  stale.source = "en";
  auto refused = queue.enqueue(stale);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::conflict);
  EXPECT_FALSE(*queue.job_for(message, "ca"));
  NewJob fresh = for_message(message, "ca");
  fresh.source = "es";  // the primary subtag of es-MX
  EXPECT_TRUE(queue.enqueue(fresh));

  Translation from_english = translated("Hola amics");
  from_english.source = "en";
  EXPECT_FALSE(*stored.put(message, from_english)) << "not kept";
  Translation from_spanish = translated("Hola amics");
  from_spanish.source = "es";
  EXPECT_TRUE(*stored.put(message, from_spanish));
  // A message of unknown language takes any source (it was detected for the job).
  const auto unknown = add_message("Hello");
  NewJob any = for_message(unknown, "es");
  any.source = "en";
  EXPECT_TRUE(queue.enqueue(any));
}

INSTANTIATE_TEST_SUITE_P(Backends, TranslationQueueTest,
                         ::testing::Values(testing::DatabaseKind::sqlite,
                                           testing::DatabaseKind::postgres),
                         test::backend_name);

}  // namespace
}  // namespace parley::translate
