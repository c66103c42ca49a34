#pragma once
// The original's DebugLog table, fed from the Logger: records at PARLEY_DEBUG_LOG_LEVEL and above
// also become rows of `debug_log` (migration 0001). Logging never waits for the database: the
// Logger hands each record to DebugLogWriter::consume(), which only copies it into a bounded
// in-memory queue; a background thread writes the queue in batches (one transaction each) and
// deletes rows older than the retention period.
//
// When the queue is full, records are dropped and counted; the count is written as a
// `debug_log_dropped` row once the writer catches up. When the database fails, the writer keeps
// the batch in hand (retryable errors) or discards it (anything else), says so on the Logger's
// line output only (records logged on the writer's own thread never come back into its queue),
// and tries again after a backoff that doubles up to max_backoff.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "store/database.hpp"

namespace parley::store {

/// One debug_log row before it is written.
struct DebugLogEntry {
  std::string level;    ///< "debug", "info", "warning", "error"
  std::string source;   ///< the record's event name
  std::string message;  ///< short human text
  std::string context;  ///< the other fields, a JSON object
  std::optional<std::string> request_id;
  std::int64_t created_at = 0;  ///< unix ms
};

/// The row for a log record: source = the event; message = the "error" field if present, else
/// "message", else the event; request_id = the "request_id" field (a string or a number); context
/// = every other field as a JSON object. Text is made valid UTF-8 without NUL (PostgreSQL refuses
/// both); the message is cut at 1000 bytes, a context over 16 KiB is replaced by its beginning.
DebugLogEntry to_debug_log_entry(const core::LogRecord& record, std::int64_t created_at_ms);

struct DebugLogWriterOptions {
  /// Records waiting to be written at most; more are dropped (and counted).
  std::size_t queue_capacity = 10'000;
  /// Rows per transaction at most.
  std::size_t batch_size = 500;
  /// How long a record waits at most before its batch is written.
  std::chrono::milliseconds flush_interval{1000};
  /// Rows older than this are deleted (PARLEY_DEBUG_LOG_RETENTION_DAYS).
  std::chrono::milliseconds retention{std::chrono::hours(24 * 14)};
  /// How often the retention delete runs (also once at start).
  std::chrono::milliseconds purge_interval{std::chrono::hours(1)};
  /// Pause after a failed write, doubled after each further failure up to max_backoff.
  std::chrono::milliseconds initial_backoff{1000};
  std::chrono::milliseconds max_backoff{60'000};
};

struct DebugLogStats {
  std::uint64_t written = 0;    ///< rows inserted (drop reports included)
  std::uint64_t dropped = 0;    ///< records refused because the queue was full
  std::uint64_t discarded = 0;  ///< records lost with a batch the database refused for good
  std::uint64_t failures = 0;   ///< failed batch writes
  std::uint64_t purged = 0;     ///< rows deleted by retention
  std::size_t queued = 0;       ///< records waiting now (in the queue and in hand)
};

/// Thread-safety: every method is thread-safe. consume() never blocks on I/O (it takes a mutex
/// for a queue push); flush(), stop(), purge_expired() and the destructor BLOCK.
class DebugLogWriter final : public core::LogRecordSink {
 public:
  /// Starts the writer thread. `database` (migrated), `clock` and `log` must outlive the writer.
  /// `log` receives the writer's own failures (it may be the Logger this writer is attached to).
  /// Throws std::invalid_argument for zero capacity or batch size (a programmer error).
  DebugLogWriter(Database& database, const core::Clock& clock, core::Logger& log,
                 DebugLogWriterOptions options = {});
  /// Stops: writes what is queued (one attempt), then joins the thread.
  ~DebugLogWriter() override;
  DebugLogWriter(const DebugLogWriter&) = delete;
  DebugLogWriter& operator=(const DebugLogWriter&) = delete;

  /// Queues the record (see to_debug_log_entry), or counts it dropped when the queue is full.
  /// Records logged on the writer's own thread are ignored.
  void consume(const core::LogRecord& record) noexcept override;

  /// Queues one row. false (and counted dropped) when the queue is full or the writer stopped.
  bool enqueue(DebugLogEntry entry) noexcept;

  /// Asks for everything queued to be written now, and waits until the queue and the batch in
  /// hand are empty (written or discarded) or `timeout` passed. true when empty.
  bool flush(std::chrono::milliseconds timeout);

  /// Writes what is queued (one attempt, no backoff) and stops the thread. Idempotent; records
  /// arriving afterwards are dropped.
  void stop();

  /// BLOCKING. Deletes rows created before now - retention. Returns how many went.
  /// Errors: storage errors.
  Result<std::int64_t> purge_expired();

  [[nodiscard]] DebugLogStats stats() const;

 private:
  void run();
  /// Inserts `batch` in one transaction. Errors: storage errors.
  Result<void> write(const std::vector<DebugLogEntry>& batch);
  void purge_and_report();

  Database& database_;
  const core::Clock& clock_;
  core::Logger& log_;
  DebugLogWriterOptions options_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;     // the writer thread waits here
  std::condition_variable drained_;  // flush() waits here
  std::deque<DebugLogEntry> queue_;
  std::size_t in_hand_ = 0;  // taken by the thread, not yet written or discarded
  std::uint64_t dropped_unreported_ = 0;
  bool flush_requested_ = false;
  bool stopping_ = false;
  DebugLogStats stats_;

  std::thread thread_;
  std::thread::id thread_id_;  // set once, before the writer is attached anywhere
};

}  // namespace parley::store
