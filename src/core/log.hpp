#pragma once
// Structured logging: one JSON object per line on stdout (12-factor). A Logger is created by the
// composition root and passed by reference; there is no global logger.

#include <atomic>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace parley::core {

enum class LogLevel { debug = 0, info = 1, warning = 2, error = 3 };

/// Parses Python's and Parley's level names, case-insensitively: DEBUG, INFO, WARNING/WARN,
/// ERROR, CRITICAL (treated as error).
std::optional<LogLevel> parse_log_level(std::string_view name);
std::string_view to_string(LogLevel level);

/// A place that receives finished log lines (without the newline). Tests capture lines with
/// their own sink; the default writes to a FILE*.
class LogSink {
 public:
  virtual ~LogSink() = default;
  virtual void write_line(std::string_view line) = 0;
};

class FileLogSink final : public LogSink {
 public:
  explicit FileLogSink(std::FILE* file) : file_(file) {}
  void write_line(std::string_view line) override;

 private:
  std::mutex mutex_;
  std::FILE* file_;
};

/// One log record before it becomes a line: what a LogRecordSink receives. The references are
/// valid only during the call.
struct LogRecord {
  LogLevel level = LogLevel::info;
  std::string_view event;
  const boost::json::object& fields;
  std::chrono::system_clock::time_point time;
};

/// A second consumer of log records, beside the LogSink's lines: the debug_log table writer
/// (store/debug_log/), or a counter. Attached to a Logger with Logger::attach().
class LogRecordSink {
 public:
  virtual ~LogRecordSink() = default;
  /// Called on the logging thread (any thread, concurrently) for each record at or above the
  /// level it was attached with, before the line is written. Must be fast, must not block or do
  /// I/O (it runs on network threads), and must not throw. A record logged from inside consume()
  /// reaches the LogSink only, no record sink.
  virtual void consume(const LogRecord& record) noexcept = 0;
};

/// Thread-safe. Every value goes through JSON encoding, so a CR/LF in user input can never forge
/// a second log line. Never pass secrets (passwords, tokens, keys) as fields.
class Logger {
 public:
  Logger(LogSink& sink, LogLevel threshold) : sink_(sink), threshold_(threshold) {}
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  /// Detaches a record sink when destroyed (before the sink goes). Move-only.
  class Attachment {
   public:
    Attachment() = default;
    Attachment(Logger& logger, LogRecordSink& sink) : logger_(&logger), sink_(&sink) {}
    Attachment(Attachment&& other) noexcept
        : logger_(std::exchange(other.logger_, nullptr)), sink_(other.sink_) {}
    Attachment& operator=(Attachment&& other) noexcept {
      if (this != &other) {
        reset();
        logger_ = std::exchange(other.logger_, nullptr);
        sink_ = other.sink_;
      }
      return *this;
    }
    Attachment(const Attachment&) = delete;
    Attachment& operator=(const Attachment&) = delete;
    ~Attachment() { reset(); }
    /// Detaches now; waits for consume() calls in progress to return.
    void reset() noexcept {
      if (logger_ != nullptr) std::exchange(logger_, nullptr)->detach(*sink_);
    }

   private:
    Logger* logger_ = nullptr;
    LogRecordSink* sink_ = nullptr;
  };

  /// Hands every record at `min_level` and above to `sink` too, whatever the line threshold
  /// (LOG_LEVEL): records below LOG_LEVEL then reach the sink without a line. Thread-safe; the
  /// sink must stay alive until the returned Attachment is reset or destroyed.
  [[nodiscard]] Attachment attach(LogRecordSink& sink, LogLevel min_level);

  /// True when a record at `level` goes anywhere (a line or a record sink): callers may skip
  /// building fields otherwise.
  bool enabled(LogLevel level) const {
    return level >= threshold_ ||
           static_cast<int>(level) >= record_threshold_.load(std::memory_order_relaxed);
  }
  void log(LogLevel level, std::string_view event, boost::json::object fields = {});

  void debug(std::string_view event, boost::json::object fields = {}) {
    log(LogLevel::debug, event, std::move(fields));
  }
  void info(std::string_view event, boost::json::object fields = {}) {
    log(LogLevel::info, event, std::move(fields));
  }
  void warning(std::string_view event, boost::json::object fields = {}) {
    log(LogLevel::warning, event, std::move(fields));
  }
  void error(std::string_view event, boost::json::object fields = {}) {
    log(LogLevel::error, event, std::move(fields));
  }

 private:
  struct Attached {
    LogRecordSink* sink;
    LogLevel min_level;
  };
  void detach(LogRecordSink& sink) noexcept;
  void update_record_threshold();  // with attached_mutex_ held exclusively

  LogSink& sink_;
  LogLevel threshold_;
  // Above every level while no record sink is attached, so enabled() stays one comparison.
  static constexpr int kNoRecords = static_cast<int>(LogLevel::error) + 1;
  std::atomic<int> record_threshold_{kNoRecords};
  mutable std::shared_mutex attached_mutex_;
  std::vector<Attached> attached_;
};

}  // namespace parley::core
