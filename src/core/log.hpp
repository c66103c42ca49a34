#pragma once
// Structured logging: one JSON object per line on stdout (12-factor). A Logger is created by the
// composition root and passed by reference; there is no global logger.

#include <boost/json/object.hpp>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

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

/// Thread-safe. Every value goes through JSON encoding, so a CR/LF in user input can never forge
/// a second log line. Never pass secrets (passwords, tokens, keys) as fields.
class Logger {
 public:
  Logger(LogSink& sink, LogLevel threshold) : sink_(sink), threshold_(threshold) {}

  bool enabled(LogLevel level) const { return level >= threshold_; }
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
  LogSink& sink_;
  LogLevel threshold_;
};

}  // namespace parley::core
