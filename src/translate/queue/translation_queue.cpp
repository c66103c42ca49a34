#include "translate/queue/translation_queue.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "translate/langid/language_detector.hpp"
#include "translate/queue/job_rows.hpp"

namespace parley::translate {

namespace {

using store::Value;

// The longest last_error kept: engine messages can be long (an HTTP body excerpt).
constexpr std::size_t kMaxErrorBytes = 1000;

constexpr std::string_view kDeadLeaseMessage =
    "the worker running this job stopped (crashed or stalled) on its last attempt";

/// "FOR UPDATE SKIP LOCKED" on PostgreSQL: concurrent claimers skip each other's rows instead of
/// waiting. SQLite has no row locks (and no such syntax): BEGIN IMMEDIATE serializes writers.
std::string_view skip_locked(store::Dialect dialect) {
  return dialect == store::Dialect::postgres ? " FOR UPDATE SKIP LOCKED" : "";
}

std::string_view for_update(store::Dialect dialect) {
  return dialect == store::Dialect::postgres ? " FOR UPDATE" : "";
}

bool valid_language(std::string_view code) {
  if (code.empty() || code.size() > 16) return false;
  return std::all_of(code.begin(), code.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

/// Cuts `text` to at most `max` bytes without splitting a UTF-8 sequence.
std::string truncate_utf8(std::string_view text, std::size_t max) {
  if (text.size() <= max) return std::string(text);
  std::size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0U) == 0x80U) --end;
  return std::string(text.substr(0, end));
}

std::int64_t to_ms(std::chrono::milliseconds duration) { return duration.count(); }

}  // namespace

std::string_view to_string(JobState state) noexcept {
  switch (state) {
    case JobState::queued:
      return "queued";
    case JobState::running:
      return "running";
    case JobState::done:
      return "done";
    case JobState::dead:
      return "dead";
  }
  return "unknown";
}

bool is_retryable(Errc code) noexcept {
  switch (code) {
    case Errc::rate_limited:
    case Errc::busy:
    case Errc::unavailable:
    case Errc::timeout:
    case Errc::internal:
      return true;
    default:
      return false;
  }
}

TranslationQueue::TranslationQueue(store::Database& database, const core::Clock& clock,
                                   QueueOptions options)
    : database_(database), clock_(clock), options_(options), random_(std::random_device{}()) {
  if (options_.max_attempts < 1) throw std::invalid_argument("max_attempts must be at least 1");
  if (options_.backoff_base.count() < 0 || options_.backoff_cap < options_.backoff_base) {
    throw std::invalid_argument("backoff_base must be >= 0 and backoff_cap >= backoff_base");
  }
  if (!(options_.jitter >= 0.0 && options_.jitter <= 1.0)) {
    throw std::invalid_argument("jitter must be between 0 and 1");
  }
}

std::chrono::milliseconds TranslationQueue::backoff(int attempts) {
  const std::int64_t base = to_ms(options_.backoff_base);
  const std::int64_t cap = to_ms(options_.backoff_cap);
  std::int64_t delay = base;
  // Doubling stops at the cap, so this never overflows.
  for (int i = 1; i < attempts && delay < cap; ++i) delay *= 2;
  delay = std::min(delay, cap);
  if (options_.jitter > 0.0 && delay > 0) {
    double fraction = 0.0;
    {
      std::lock_guard lock(random_mutex_);
      fraction = std::uniform_real_distribution<double>(0.0, options_.jitter)(random_);
    }
    delay -= static_cast<std::int64_t>(static_cast<double>(delay) * fraction);
  }
  return std::chrono::milliseconds(delay);
}

Result<std::int64_t> TranslationQueue::enqueue(const NewJob& job) {
  if (job.text.empty()) return fail(Errc::validation_failed, "there is no text to translate");
  if (job.text.size() > kMaxTranslationBytes) {
    return fail(Errc::validation_failed, "the text is too long to translate (at most " +
                                             std::to_string(kMaxTranslationBytes) + " bytes)");
  }
  if (!valid_language(job.target)) {
    return fail(Errc::validation_failed, "the target language is not a valid language code");
  }
  if (job.source && !valid_language(*job.source)) {
    return fail(Errc::validation_failed, "the source language is not a valid language code");
  }
  if (job.engine && job.engine->empty()) {
    return fail(Errc::validation_failed, "the engine name is empty");
  }
  const std::int64_t now = clock_.now_ms();
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto tx = store::Transaction::begin(**lease);
  if (!tx) return tx.error();
  if (job.message_id && job.source) {
    auto current = message_is_in(**lease, *job.message_id, *job.source);
    if (!current) {
      if (current.error().code == Errc::not_found) {
        return fail(Errc::validation_failed, "the message or room to translate does not exist");
      }
      return current.error();
    }
    if (!*current) {
      return fail(Errc::conflict,
                  "the message's language was corrected: it is translated from its new language");
    }
  }
  auto inserted = (*lease)->query(
      "INSERT INTO translation_jobs (message_id, room_id, text, source_language, "
      "target_language, engine, state, attempts, max_attempts, run_after, created_at, "
      "updated_at, request_id) VALUES ($1, $2, $3, $4, $5, $6, 'queued', 0, $7, $8, $8, $8, $9) "
      "ON CONFLICT (message_id, target_language) DO NOTHING RETURNING id",
      {store::nullable(job.message_id), store::nullable(job.room_id), job.text,
       store::nullable(job.source), job.target, store::nullable(job.engine),
       std::int64_t{options_.max_attempts}, now, store::nullable(job.request_id)});
  if (!inserted) {
    if (inserted.error().code == Errc::validation_failed) {
      // A foreign key (or CHECK) failed: the store's message names tables, ours is for users.
      return fail(Errc::validation_failed, "the message or room to translate does not exist");
    }
    return inserted.error();
  }
  std::optional<std::int64_t> id;
  if (!inserted->empty()) {
    auto value = (*inserted)[0].get<std::int64_t>(std::size_t{0});
    if (!value) return value.error();
    id = *value;
  } else {
    // The (message, target) pair is already queued (a NULL message id never conflicts).
    auto existing = (*lease)->query(
        "SELECT id FROM translation_jobs WHERE message_id = $1 AND target_language = $2",
        {store::nullable(job.message_id), job.target});
    if (!existing) return existing.error();
    if (existing->empty()) {
      return fail(Errc::conflict, "the translation job was removed while it was being queued");
    }
    auto value = (*existing)[0].get<std::int64_t>(std::size_t{0});
    if (!value) return value.error();
    id = *value;
  }
  if (auto done = tx->commit(); !done) return done.error();
  return *id;
}

Result<std::vector<Job>> TranslationQueue::claim(std::string_view worker, std::size_t max,
                                                 std::chrono::milliseconds lease_for,
                                                 JobScope scope) {
  if (worker.empty()) return fail(Errc::validation_failed, "a worker needs a name");
  if (lease_for.count() <= 0) return fail(Errc::validation_failed, "the lease must be positive");
  if (max == 0) return std::vector<Job>{};
  const std::int64_t now = clock_.now_ms();
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  store::Connection& connection = **lease;
  const auto dialect = connection.dialect();
  auto tx = store::Transaction::begin(connection);  // SQLite: BEGIN IMMEDIATE, the writer lock
  if (!tx) return tx.error();

  // A job whose worker died on its last allowed attempt goes to the dead letter, not round again:
  // a text that crashes the engine must not take every worker down in turn, forever.
  auto buried = connection.execute(
      std::string("UPDATE translation_jobs SET state = 'dead', last_error = $1, "
                  "last_error_code = 'internal', lease_expires_at = NULL, completed_at = $2, "
                  "updated_at = $2 WHERE id IN (SELECT id FROM translation_jobs "
                  "WHERE state = 'running' AND lease_expires_at <= $2 "
                  "AND attempts >= max_attempts") +
          std::string(skip_locked(dialect)) + ")",
      {std::string(kDeadLeaseMessage), now});
  if (!buried) return buried.error();

  // The due jobs and the expired leases are each read in queue order through an index, at most
  // `max` of each, and the oldest `max` of those are taken: the cost does not grow with the
  // number of jobs waiting. PostgreSQL locks the candidates it reads (skipping rows another
  // claimer holds); the ones not taken are released when this transaction commits.
  const std::string scope_filter(scope == JobScope::ad_hoc ? " AND message_id IS NULL" : "");
  const std::string lock(skip_locked(dialect));
  const std::string candidates =
      "SELECT id, created_at FROM (SELECT id, created_at FROM translation_jobs "
      "WHERE state = 'queued' AND run_after <= $3" +
      scope_filter + " ORDER BY created_at, id LIMIT $4" + lock +
      ") AS due UNION ALL SELECT id, created_at FROM (SELECT id, created_at FROM translation_jobs "
      "WHERE state = 'running' AND lease_expires_at <= $3" +
      scope_filter + " ORDER BY created_at, id LIMIT $4" + lock + ") AS expired";
  auto claimed = connection.query(
      "UPDATE translation_jobs SET state = 'running', attempts = attempts + 1, "
      "lease_owner = $1, lease_expires_at = $2, updated_at = $3 WHERE id IN (SELECT id FROM (" +
          candidates + ") AS candidates ORDER BY created_at, id LIMIT $4) RETURNING " +
          std::string(detail::kJobColumns),
      {std::string(worker), now + to_ms(lease_for), now, static_cast<std::int64_t>(max)});
  if (!claimed) return claimed.error();
  std::vector<Job> jobs;
  jobs.reserve(claimed->size());
  for (const auto& row : *claimed) {
    auto job = detail::job_from_row(row);
    if (!job) return job.error();
    jobs.push_back(std::move(*job));
  }
  if (auto done = tx->commit(); !done) return done.error();
  // RETURNING has no defined order.
  std::sort(jobs.begin(), jobs.end(), [](const Job& a, const Job& b) {
    return a.created_at != b.created_at ? a.created_at < b.created_at : a.id < b.id;
  });
  return jobs;
}

Result<bool> TranslationQueue::complete(std::int64_t job, std::string_view worker,
                                        const Translation& result) {
  if (result.text.empty()) {
    return fail(Errc::validation_failed, "an empty translation cannot complete a job");
  }
  if (result.engine.empty()) {
    return fail(Errc::validation_failed, "a translation must name its engine");
  }
  const std::int64_t now = clock_.now_ms();
  const std::string via = detail::join_via(result.via);
  const Value source = result.source.empty() ? Value{store::null_value} : Value{result.source};
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  store::Connection& connection = **lease;
  auto tx = store::Transaction::begin(connection);
  if (!tx) return tx.error();
  // Only the lease holder completes: a worker whose expired lease was taken by another must not
  // deliver (the other one will). lease_owner stays as a record of who did the work.
  auto updated = connection.query(
      "UPDATE translation_jobs SET state = 'done', result_text = $3, result_source = $4, "
      "result_engine = $5, result_via = $6, lease_expires_at = NULL, completed_at = $7, "
      "updated_at = $7 WHERE id = $1 AND state = 'running' AND lease_owner = $2 "
      "RETURNING message_id, target_language",
      {job, std::string(worker), result.text, source, result.engine, via, now});
  if (!updated) return updated.error();
  if (updated->empty()) return false;  // the guard rolls back
  auto message_id = (*updated)[0].get<std::optional<std::int64_t>>("message_id");
  auto target = (*updated)[0].get<std::string>("target_language");
  if (!message_id || !target) return fail(Errc::internal, "a translation job row is unreadable");
  if (*message_id) {
    // The first translation stored for a message and language is the one listeners saw: keep it.
    auto stored = connection.execute(
        "INSERT INTO message_translations (message_id, language, text, source_language, engine, "
        "via, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) "
        "ON CONFLICT (message_id, language) DO NOTHING",
        {**message_id, *target, result.text, source, result.engine, via, now});
    if (!stored) return stored.error();
  }
  if (auto done = tx->commit(); !done) return done.error();
  return true;
}

Result<RetryOutcome> TranslationQueue::retry_later(std::int64_t job, std::string_view worker,
                                                   const Error& error) {
  const std::int64_t now = clock_.now_ms();
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  store::Connection& connection = **lease;
  auto tx = store::Transaction::begin(connection);
  if (!tx) return tx.error();
  auto current =
      connection.query(std::string("SELECT attempts, max_attempts FROM translation_jobs "
                                   "WHERE id = $1 AND state = 'running' AND lease_owner = $2") +
                           std::string(for_update(connection.dialect())),
                       {job, std::string(worker)});
  if (!current) return current.error();
  if (current->empty()) return RetryOutcome{RetryOutcome::Kind::lost, 0};
  auto attempts = (*current)[0].get<int>(std::size_t{0});
  auto max_attempts = (*current)[0].get<int>(std::size_t{1});
  if (!attempts || !max_attempts) return fail(Errc::internal, "a translation job is unreadable");

  const std::string message = truncate_utf8(
      error.message.empty() ? std::string(to_code(error.code)) : error.message, kMaxErrorBytes);
  const std::string code(to_code(error.code));
  RetryOutcome outcome;
  Result<std::int64_t> written = std::int64_t{0};
  if (!is_retryable(error.code) || *attempts >= *max_attempts) {
    outcome.kind = RetryOutcome::Kind::dead;
    written = connection.execute(
        "UPDATE translation_jobs SET state = 'dead', last_error = $2, last_error_code = $3, "
        "lease_expires_at = NULL, completed_at = $4, updated_at = $4 WHERE id = $1",
        {job, message, code, now});
  } else {
    outcome.kind = RetryOutcome::Kind::requeued;
    outcome.run_after = now + to_ms(std::max(backoff(*attempts), error.retry_after));
    written = connection.execute(
        "UPDATE translation_jobs SET state = 'queued', run_after = $2, last_error = $3, "
        "last_error_code = $4, lease_owner = NULL, lease_expires_at = NULL, updated_at = $5 "
        "WHERE id = $1",
        {job, outcome.run_after, message, code, now});
  }
  if (!written) return written.error();
  if (auto done = tx->commit(); !done) return done.error();
  return outcome;
}

Result<std::int64_t> TranslationQueue::forget_message(std::int64_t message_id) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto tx = store::Transaction::begin(**lease);
  if (!tx) return tx.error();
  auto forgotten = forget_message(**lease, message_id);
  if (!forgotten) return forgotten.error();
  if (auto done = tx->commit(); !done) return done.error();
  return forgotten;
}

Result<std::int64_t> TranslationQueue::forget_message(store::Connection& connection,
                                                      std::int64_t message_id) {
  auto jobs =
      connection.execute("DELETE FROM translation_jobs WHERE message_id = $1", {message_id});
  if (!jobs) return jobs.error();
  if (auto stored = connection.execute("DELETE FROM message_translations WHERE message_id = $1",
                                       {message_id});
      !stored) {
    return stored.error();
  }
  return static_cast<std::int64_t>(*jobs);
}

Result<bool> message_is_in(store::Connection& connection, std::int64_t message_id,
                           std::string_view source) {
  const bool postgres = connection.dialect() == store::Dialect::postgres;
  auto rows = connection.query(std::string("SELECT original_language FROM messages WHERE id = $1") +
                                   (postgres ? " FOR SHARE" : ""),
                               {message_id});
  if (!rows) return rows.error();
  if (rows->empty()) return fail(Errc::not_found, "no such message");
  auto language = (*rows)[0].get<std::optional<std::string>>("original_language");
  if (!language) return language.error();
  if (!*language || (*language)->empty()) return true;
  return normalize_language_tag(**language) == normalize_language_tag(source);
}

Result<bool> TranslationQueue::mark_delivered(std::int64_t job) {
  const std::int64_t now = clock_.now_ms();
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto marked = (*lease)->execute(
      "UPDATE translation_jobs SET delivered_at = $2, updated_at = $2 "
      "WHERE id = $1 AND state = 'done' AND delivered_at IS NULL",
      {job, now});
  if (!marked) return marked.error();
  if (*marked == 1) return true;
  auto state = (*lease)->query("SELECT state FROM translation_jobs WHERE id = $1", {job});
  if (!state) return state.error();
  if (state->empty()) return fail(Errc::not_found, "no such translation job");
  auto name = (*state)[0].get<std::string>(std::size_t{0});
  if (!name) return name.error();
  if (*name != "done") return fail(Errc::conflict, "the translation job has not finished");
  return false;
}

Result<std::vector<FinishedJob>> TranslationQueue::undelivered(std::size_t max) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto rows =
      (*lease)->query("SELECT " + std::string(detail::kRecordColumns) +
                          " FROM translation_jobs WHERE state = 'done' AND delivered_at IS NULL "
                          "ORDER BY completed_at, id LIMIT $1",
                      {static_cast<std::int64_t>(max)});
  if (!rows) return rows.error();
  std::vector<FinishedJob> out;
  for (const auto& row : *rows) {
    auto record = detail::record_from_row(row);
    if (!record) return record.error();
    if (!record->result) return fail(Errc::internal, "a finished translation job has no result");
    out.push_back(FinishedJob{std::move(record->job), std::move(*record->result)});
  }
  return out;
}

Result<std::optional<std::int64_t>> TranslationQueue::job_for(std::int64_t message_id,
                                                              std::string_view target) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto rows = (*lease)->query(
      "SELECT id FROM translation_jobs WHERE message_id = $1 AND target_language = $2",
      {message_id, std::string(target)});
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<std::int64_t>();
  auto id = (*rows)[0].get<std::int64_t>(std::size_t{0});
  if (!id) return id.error();
  return std::optional<std::int64_t>(*id);
}

Result<std::optional<JobRecord>> TranslationQueue::find(std::int64_t job) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto rows = (*lease)->query(
      "SELECT " + std::string(detail::kRecordColumns) + " FROM translation_jobs WHERE id = $1",
      {job});
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<JobRecord>();
  auto record = detail::record_from_row((*rows)[0]);
  if (!record) return record.error();
  return std::optional<JobRecord>(std::move(*record));
}

Result<QueueStats> TranslationQueue::stats() {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto rows = (*lease)->query(
      "SELECT state, COUNT(*), SUM(CASE WHEN delivered_at IS NULL THEN 1 ELSE 0 END) "
      "FROM translation_jobs GROUP BY state");
  if (!rows) return rows.error();
  QueueStats stats;
  for (const auto& row : *rows) {
    auto state = row.get<std::string>(std::size_t{0});
    auto count = row.get<std::int64_t>(std::size_t{1});
    auto not_delivered = row.get<std::int64_t>(std::size_t{2});
    if (!state || !count || !not_delivered) return fail(Errc::internal, "bad queue statistics");
    if (*state == "queued") stats.queued = *count;
    if (*state == "running") stats.running = *count;
    if (*state == "done") {
      stats.done = *count;
      stats.undelivered = *not_delivered;
    }
    if (*state == "dead") stats.dead = *count;
  }
  return stats;
}

Result<std::int64_t> TranslationQueue::purge_finished(std::int64_t before_ms) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  return (*lease)->execute(
      "DELETE FROM translation_jobs WHERE completed_at < $1 "
      "AND (state = 'dead' OR (state = 'done' AND delivered_at IS NOT NULL))",
      {before_ms});
}

}  // namespace parley::translate
