#pragma once
// The durable translation queue: every job is a row of translation_jobs (migration
// 0004_translation), so an accepted job survives a crash. Workers claim jobs under a lease
// (lease_owner, lease_expires_at); a worker that dies leaves its job running with a lease that
// expires, after which any worker claims it again. With PostgreSQL several Parley processes share
// one queue (claims use FOR UPDATE SKIP LOCKED); with SQLite claims are serialized by the single
// writer lock (BEGIN IMMEDIATE).
//
// Delivery is at least once from the database's point of view and exactly once per caller:
// complete() answers true to exactly one worker per job, and mark_delivered() answers true once.
// A process that crashed after complete() but before mark_delivered() finds those jobs with
// undelivered() at start-up.
//
// Thread-safety: all methods are thread-safe and BLOCK on the database (run them on workers).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "store/database.hpp"
#include "translate/translator.hpp"

namespace parley::translate {

/// A translation to queue. `message_id` set: the translation of a stored message, queued once
/// per (message, target) and stored in message_translations when done. Unset: an ad hoc job.
struct NewJob {
  std::optional<std::int64_t> message_id;
  std::optional<std::int64_t> room_id;
  std::string text;
  std::optional<std::string> source;  ///< nullopt: detect
  std::string target;
  std::optional<std::string> engine;  ///< nullopt: any engine supporting the pair
  /// What caused the job, for the logs of its runs: the HTTP request id, or
  /// "<socket id>:<event seq>" for a Socket.IO event. Kept from the first enqueue.
  std::optional<std::string> request_id;
};

/// A claimed job: everything a worker needs to run it and deliver the result.
struct Job {
  std::int64_t id = 0;
  std::optional<std::int64_t> message_id;
  std::optional<std::int64_t> room_id;
  std::string text;
  std::optional<std::string> source;
  std::string target;
  std::optional<std::string> engine;
  int attempts = 0;  ///< runs started, this one included (1 on the first run)
  int max_attempts = 0;
  std::int64_t created_at = 0;
  std::int64_t lease_expires_at = 0;      ///< unix ms; 0 when not leased
  std::optional<std::string> request_id;  ///< NewJob::request_id
};

enum class JobState { queued, running, done, dead };

/// Which jobs a worker takes: every job, or only ad hoc ones (a batch tool must not take a chat
/// message's job, whose delivery to the room only a server can make).
enum class JobScope { all, ad_hoc };
std::string_view to_string(JobState state) noexcept;

/// A job as stored, for inspection (tests, admin, polling by id).
struct JobRecord {
  Job job;
  JobState state = JobState::queued;
  std::int64_t run_after = 0;
  std::optional<std::string> lease_owner;
  std::optional<std::string> last_error;
  std::optional<std::string> last_error_code;  ///< parley::to_code() of the last error
  std::optional<Translation> result;           ///< set when done
  std::int64_t updated_at = 0;
  std::optional<std::int64_t> completed_at;
  std::optional<std::int64_t> delivered_at;
};

/// A finished job whose result was not yet delivered (see undelivered()).
struct FinishedJob {
  Job job;
  Translation result;
};

struct QueueStats {
  std::int64_t queued = 0;
  std::int64_t running = 0;
  std::int64_t done = 0;
  std::int64_t dead = 0;
  std::int64_t undelivered = 0;  ///< done, delivered_at still NULL
};

/// What retry_later() did.
struct RetryOutcome {
  enum class Kind {
    requeued,  ///< will run again at run_after
    dead,      ///< dead-lettered (non-retryable error or max_attempts reached)
    lost,      ///< the job was no longer this worker's (lease taken, or finished): nothing done
  };
  Kind kind = Kind::lost;
  std::int64_t run_after = 0;  ///< for requeued
};

struct QueueOptions {
  /// Runs per job before it is dead-lettered (a crashed run counts).
  int max_attempts = 5;
  /// Backoff before run n+1 is min(backoff_cap, backoff_base * 2^(n-1)), minus up to
  /// `jitter` of itself at random, so that jobs that failed together do not retry together.
  std::chrono::milliseconds backoff_base{1000};
  std::chrono::milliseconds backoff_cap{5 * 60 * 1000};
  double jitter = 0.5;  ///< 0 (none) .. 1
};

/// Whether a failed translation may succeed when tried again: rate limits, overload,
/// unavailability, timeouts and internal errors are retried; unsupported pairs, bad input,
/// credentials and quota are not (they dead-letter at once).
bool is_retryable(Errc code) noexcept;

/// Whether message `message_id` is (still) in `source`, read on `connection` (on PostgreSQL the
/// row is share-locked until the caller's transaction ends, so a correction waits for it): a
/// translation from another language is stale. A message without a language matches anything.
/// Errors: not_found (no such message), storage errors.
Result<bool> message_is_in(store::Connection& connection, std::int64_t message_id,
                           std::string_view source);

class TranslationQueue {
 public:
  /// `database` (migrated to at least 0004) and `clock` must outlive the queue.
  /// Throws std::invalid_argument for invalid options (a configuration error).
  TranslationQueue(store::Database& database, const core::Clock& clock, QueueOptions options = {});

  /// Queues a job, or returns the existing job's id when (message_id, target) is already queued
  /// (in any state). Errors: validation_failed (empty or too long text, bad language code,
  /// unknown message or room), conflict (a message job whose source is no longer the message's
  /// language: it was corrected meanwhile), and storage errors.
  Result<std::int64_t> enqueue(const NewJob& job);

  /// Claims up to `max` jobs for `worker` for `lease`: queued jobs whose run_after has come, and
  /// running jobs whose lease expired (a dead worker's), oldest first. Each claim counts one
  /// attempt; an expired job that already used max_attempts is dead-lettered instead.
  /// `worker` must be unique to one thread of one process (QueueWorker makes such names).
  Result<std::vector<Job>> claim(std::string_view worker, std::size_t max,
                                 std::chrono::milliseconds lease, JobScope scope = JobScope::all);

  /// Stores the result (and the message_translations row when the job has a message) in one
  /// transaction. false: the job was no longer this worker's (its lease was taken after expiry,
  /// or it is already finished): the caller must not deliver the result.
  /// Errors: validation_failed (empty result text), storage errors.
  Result<bool> complete(std::int64_t job, std::string_view worker, const Translation& result);

  /// Records a failed run: requeues with exponential backoff and jitter (at least
  /// error.retry_after), or dead-letters with last_error when the error is not retryable or the
  /// job used max_attempts.
  Result<RetryOutcome> retry_later(std::int64_t job, std::string_view worker, const Error& error);

  /// Marks a done job delivered. true the first time, false afterwards.
  /// Errors: not_found (no such job), conflict (the job is not done).
  Result<bool> mark_delivered(std::int64_t job);

  /// Done jobs not yet delivered, oldest first (for redelivery after a crash).
  Result<std::vector<FinishedJob>> undelivered(std::size_t max);

  /// The job of a message's translation into `target`, in any state, or nullopt when none was
  /// ever queued (so that a retried message is not translated, nor paid for, twice).
  Result<std::optional<std::int64_t>> job_for(std::int64_t message_id, std::string_view target);

  /// Forgets a message's translations: deletes its jobs (any state) and its stored translations,
  /// in one transaction, so that it can be translated afresh (its language was corrected). A
  /// worker still running one of the deleted jobs finds it gone: complete() answers false and
  /// the stale result is neither stored nor delivered. Returns how many jobs went.
  Result<std::int64_t> forget_message(std::int64_t message_id);
  /// The same on `connection`, inside the caller's transaction (the correction's own, so that
  /// a message is never corrected without its old translations going with it).
  static Result<std::int64_t> forget_message(store::Connection& connection,
                                             std::int64_t message_id);

  /// One job as stored, or nullopt.
  Result<std::optional<JobRecord>> find(std::int64_t job);

  Result<QueueStats> stats();

  /// Deletes dead jobs and delivered done jobs finished before `before_ms` (retention).
  /// Returns how many rows went.
  Result<std::int64_t> purge_finished(std::int64_t before_ms);

  /// The delay before the next run after `attempts` failed runs, jitter included.
  std::chrono::milliseconds backoff(int attempts);

  [[nodiscard]] const QueueOptions& options() const noexcept { return options_; }

 private:
  store::Database& database_;
  const core::Clock& clock_;
  QueueOptions options_;
  std::mutex random_mutex_;
  std::mt19937_64 random_;
};

}  // namespace parley::translate
