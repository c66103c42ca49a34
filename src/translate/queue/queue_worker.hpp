#pragma once
// A bounded pool of threads that run translation jobs from a TranslationQueue:
//   claim -> translate (user function) -> complete / retry_later -> on_done / on_dead.
// Each thread polls the queue, sleeping `idle_sleep` when it is empty; wake() cuts the sleep
// short (call it after enqueue()).
//
// Leases are not renewed: the lease must outlast the slowest translation (engine timeouts
// included), which the default 2 minutes does for Apertium (milliseconds) and HTTP engines with
// their own request timeouts. A run that outlives its lease may be run again by another worker;
// only one of them completes (complete() answers true once), so on_done still runs once.
//
// Stopping (stop() or the destructor) lets each thread finish its current call to the
// translate function but then abandons the job: it stays running under its lease and is
// claimed again once the lease expires, exactly as if the process had crashed. That is the one
// recovery path, so it is exercised on every shutdown.
//
// Callbacks run on the worker threads; they must be thread-safe and should not block for long.
// An exception from a callback is caught (translate: counts as an internal error; on_done /
// on_dead: logged).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "core/log.hpp"
#include "translate/queue/translation_queue.hpp"

namespace parley::translate {

struct QueueWorkerOptions {
  /// Identifies this process in lease_owner; each thread's owner is "<name>/<n>/<random>", so
  /// two processes configured with the same name never share a lease.
  std::string name = "worker";
  std::size_t threads = 2;  ///< 1..64
  std::chrono::milliseconds lease{120'000};
  std::chrono::milliseconds idle_sleep{200};
  /// Which jobs this worker takes.
  JobScope scope = JobScope::all;
  /// Mark each job delivered (TranslationQueue::mark_delivered) after on_done returns.
  bool mark_delivered = true;
  core::Logger* logger = nullptr;  ///< optional; must outlive the worker
};

using TranslateFunction = std::function<Result<Translation>(const Job&)>;
/// Called once per job, after complete() stored the result (only for the worker that did).
using DoneFunction = std::function<void(const Job&, const Translation&)>;
/// Called when a job is dead-lettered by this worker (the error is the last one).
using DeadFunction = std::function<void(const Job&, const Error&)>;

class QueueWorker {
 public:
  /// Starts the threads. `queue` must outlive the worker. Throws std::invalid_argument for bad
  /// options or an empty translate function.
  QueueWorker(TranslationQueue& queue, TranslateFunction translate, DoneFunction on_done,
              QueueWorkerOptions options, DeadFunction on_dead = {});
  /// Stops and joins (see the file comment for jobs in flight).
  ~QueueWorker();
  QueueWorker(const QueueWorker&) = delete;
  QueueWorker& operator=(const QueueWorker&) = delete;

  /// Ends the idle sleep of every thread now (a job was just queued). Thread-safe, non-blocking.
  void wake();

  /// While paused the threads claim nothing (jobs wait in the queue); a job already running
  /// finishes. Resuming wakes them. Thread-safe, non-blocking.
  void set_paused(bool paused);
  [[nodiscard]] bool paused() const noexcept { return paused_.load(); }

  /// Asks the threads to stop, without waiting. Thread-safe.
  void request_stop();

  /// request_stop(), then joins the threads. Idempotent; not from a callback.
  void stop();

  /// The lease owner names of the threads (for logs and tests).
  [[nodiscard]] const std::vector<std::string>& owners() const noexcept { return owners_; }

  /// Jobs this worker completed, retried and dead-lettered so far.
  [[nodiscard]] std::uint64_t completed() const noexcept { return completed_.load(); }
  [[nodiscard]] std::uint64_t retried() const noexcept { return retried_.load(); }
  [[nodiscard]] std::uint64_t dead() const noexcept { return dead_.load(); }

 private:
  void run(std::size_t index);
  void process(const std::string& owner, const Job& job);
  void idle(std::uint64_t seen_generation, std::chrono::milliseconds how_long);
  void log_warning(std::string_view event, boost::json::object fields);

  TranslationQueue& queue_;
  TranslateFunction translate_;
  DoneFunction on_done_;
  DeadFunction on_dead_;
  QueueWorkerOptions options_;
  std::vector<std::string> owners_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::uint64_t generation_ = 0;  // bumped by wake(), under mutex_
  bool stopping_ = false;         // under mutex_
  std::atomic<bool> stop_flag_{false};
  std::atomic<bool> paused_{false};

  std::atomic<std::uint64_t> completed_{0};
  std::atomic<std::uint64_t> retried_{0};
  std::atomic<std::uint64_t> dead_{0};
  std::vector<std::thread> threads_;  // last: started after everything above exists
};

}  // namespace parley::translate
