#include "translate/queue/queue_worker.hpp"

#include <algorithm>
#include <exception>
#include <stdexcept>
#include <utility>

#include "core/random.hpp"

namespace parley::translate {

namespace {

// After a storage error, wait at least this long before claiming again (the database may be
// restarting; do not spin).
constexpr std::chrono::milliseconds kErrorPause{1000};

// The fields every log line about a job carries: the job, and what caused it (the request id of
// the HTTP request or Socket.IO event that queued it), so that its runs show up next to that
// request's own lines (GET /api/admin/logs?request_id=...).
boost::json::object job_fields(const Job& job, boost::json::object extra = {}) {
  boost::json::object fields{{"job", job.id}, {"target", job.target}, {"attempt", job.attempts}};
  if (job.message_id) fields["message_id"] = *job.message_id;
  if (job.request_id) fields["request_id"] = *job.request_id;
  for (auto& field : extra) fields[field.key()] = std::move(field.value());
  return fields;
}

}  // namespace

QueueWorker::QueueWorker(TranslationQueue& queue, TranslateFunction translate, DoneFunction on_done,
                         QueueWorkerOptions options, DeadFunction on_dead)
    : queue_(queue),
      translate_(std::move(translate)),
      on_done_(std::move(on_done)),
      on_dead_(std::move(on_dead)),
      options_(std::move(options)) {
  if (!translate_) throw std::invalid_argument("QueueWorker needs a translate function");
  if (options_.name.empty()) throw std::invalid_argument("QueueWorker needs a name");
  if (options_.threads < 1 || options_.threads > 64) {
    throw std::invalid_argument("QueueWorker threads must be 1..64");
  }
  if (options_.lease.count() <= 0 || options_.idle_sleep.count() <= 0) {
    throw std::invalid_argument("QueueWorker lease and idle_sleep must be positive");
  }
  // A random part per instance: a restarted process (or a second one with the same configured
  // name) must never be mistaken for the holder of an older lease.
  const std::string instance = core::random_hex(4);
  for (std::size_t i = 0; i < options_.threads; ++i) {
    owners_.push_back(options_.name + "/" + std::to_string(i) + "/" + instance);
  }
  threads_.reserve(options_.threads);
  try {
    for (std::size_t i = 0; i < options_.threads; ++i) threads_.emplace_back([this, i] { run(i); });
  } catch (...) {
    stop();
    throw;
  }
}

QueueWorker::~QueueWorker() { stop(); }

void QueueWorker::wake() {
  {
    std::lock_guard lock(mutex_);
    ++generation_;
  }
  wake_.notify_all();
}

void QueueWorker::request_stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stop_flag_.store(true);
  wake_.notify_all();
}

void QueueWorker::stop() {
  request_stop();
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

void QueueWorker::idle(std::uint64_t seen_generation, std::chrono::milliseconds how_long) {
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, how_long, [&] { return stopping_ || generation_ != seen_generation; });
}

void QueueWorker::set_paused(bool paused) {
  if (paused_.exchange(paused) && !paused) wake();
}

void QueueWorker::log_warning(std::string_view event, boost::json::object fields) {
  if (options_.logger != nullptr) options_.logger->warning(event, std::move(fields));
}

void QueueWorker::run(std::size_t index) {
  const std::string& owner = owners_[index];
  while (!stop_flag_.load()) {
    std::uint64_t seen = 0;
    {
      std::lock_guard lock(mutex_);
      seen = generation_;  // read before claiming, so a wake() during the claim is not lost
    }
    if (paused_.load()) {
      idle(seen, options_.idle_sleep);
      continue;
    }
    // One job per claim: a thread never holds leases on jobs it is not running.
    auto jobs = queue_.claim(owner, 1, options_.lease, options_.scope);
    if (!jobs) {
      log_warning("translation_queue_claim_failed", {{"worker", owner},
                                                     {"code", to_code(jobs.error().code)},
                                                     {"error", jobs.error().message}});
      idle(seen, std::max(options_.idle_sleep, kErrorPause));
      continue;
    }
    if (jobs->empty()) {
      idle(seen, options_.idle_sleep);
      continue;
    }
    for (const auto& job : *jobs) {
      if (stop_flag_.load()) break;  // leave it leased: reclaimed after expiry
      process(owner, job);
    }
  }
}

void QueueWorker::process(const std::string& owner, const Job& job) {
  core::Logger* const log = options_.logger;
  const auto started = std::chrono::steady_clock::now();
  if (log != nullptr && log->enabled(core::LogLevel::debug)) {
    log->debug("translation_job_started", job_fields(job, {{"worker", owner}}));
  }
  Result<Translation> result = fail(Errc::internal, "translation did not run");
  try {
    result = translate_(job);
  } catch (const std::exception& e) {
    result = fail(Errc::internal, std::string("translation failed: ") + e.what());
  } catch (...) {
    result = fail(Errc::internal, "translation failed");
  }
  // Stopping: abandon the job with its lease (see the header): the crash path.
  if (stop_flag_.load()) return;

  if (result) {
    auto completed = queue_.complete(job.id, owner, *result);
    if (!completed && completed.error().code == Errc::validation_failed) {
      // The engine returned something unusable (an empty text): a failed run, handled below.
      result = completed.error();
    } else if (!completed) {
      // The result is lost but the job is not: its lease expires and it runs again.
      log_warning("translation_queue_complete_failed",
                  job_fields(job, {{"code", to_code(completed.error().code)},
                                   {"error", completed.error().message}}));
      return;
    } else if (!*completed) {
      return;  // another worker owns it now and will deliver it
    }
  }
  if (result) {
    completed_.fetch_add(1);
    if (log != nullptr && log->enabled(core::LogLevel::debug)) {
      const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - started);
      log->debug("translation_job_done",
                 job_fields(job, {{"engine", result->engine}, {"duration_ms", took.count()}}));
    }
    if (on_done_) {
      try {
        on_done_(job, *result);
      } catch (const std::exception& e) {
        log_warning("translation_queue_on_done_threw", job_fields(job, {{"error", e.what()}}));
      } catch (...) {
        log_warning("translation_queue_on_done_threw", job_fields(job));
      }
    }
    if (options_.mark_delivered) {
      if (auto marked = queue_.mark_delivered(job.id); !marked) {
        log_warning("translation_queue_mark_delivered_failed",
                    job_fields(job, {{"error", marked.error().message}}));
      }
    }
    return;
  }

  auto outcome = queue_.retry_later(job.id, owner, result.error());
  if (!outcome) {
    log_warning("translation_queue_retry_failed",
                job_fields(job, {{"error", outcome.error().message}}));
    return;
  }
  if (log != nullptr && outcome->kind != RetryOutcome::Kind::lost) {
    const bool dead = outcome->kind == RetryOutcome::Kind::dead;
    log->info("translation_job_failed", job_fields(job, {{"code", to_code(result.error().code)},
                                                         {"error", result.error().message},
                                                         {"outcome", dead ? "dead" : "requeued"},
                                                         {"run_after", outcome->run_after}}));
  }
  switch (outcome->kind) {
    case RetryOutcome::Kind::requeued:
      retried_.fetch_add(1);
      break;
    case RetryOutcome::Kind::dead:
      dead_.fetch_add(1);
      if (on_dead_) {
        try {
          on_dead_(job, result.error());
        } catch (...) {
          log_warning("translation_queue_on_dead_threw", job_fields(job));
        }
      }
      break;
    case RetryOutcome::Kind::lost:
      break;
  }
}

}  // namespace parley::translate
