#include "core/log.hpp"

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <cctype>
#include <chrono>

namespace parley::core {

std::optional<LogLevel> parse_log_level(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "debug") return LogLevel::debug;
  if (lower == "info") return LogLevel::info;
  if (lower == "warning" || lower == "warn") return LogLevel::warning;
  if (lower == "error" || lower == "critical") return LogLevel::error;
  return std::nullopt;
}

std::string_view to_string(LogLevel level) {
  switch (level) {
    case LogLevel::debug:
      return "debug";
    case LogLevel::info:
      return "info";
    case LogLevel::warning:
      return "warning";
    case LogLevel::error:
      return "error";
  }
  return "info";
}

void FileLogSink::write_line(std::string_view line) {
  std::lock_guard lock(mutex_);
  std::fwrite(line.data(), 1, line.size(), file_);
  std::fputc('\n', file_);
  std::fflush(file_);
}

namespace {
std::string utc_timestamp() {
  using namespace std::chrono;
  const auto now = time_point_cast<milliseconds>(system_clock::now());
  const auto secs = time_point_cast<seconds>(now);
  const auto ms = (now - secs).count();
  const std::time_t t = system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms));
  return out;
}
}  // namespace

namespace {
// The record sink whose consume() is running on this thread: a record logged from inside a
// consume() reaches no record sink (no recursion, and no shared lock taken twice).
thread_local const LogRecordSink* consuming_sink = nullptr;
}  // namespace

Logger::Attachment Logger::attach(LogRecordSink& sink, LogLevel min_level) {
  std::unique_lock lock(attached_mutex_);
  attached_.push_back({&sink, min_level});
  update_record_threshold();
  return Attachment(*this, sink);
}

void Logger::detach(LogRecordSink& sink) noexcept {
  // The exclusive lock waits for consume() calls in progress (they hold it shared).
  std::unique_lock lock(attached_mutex_);
  std::erase_if(attached_, [&](const Attached& item) { return item.sink == &sink; });
  update_record_threshold();
}

void Logger::update_record_threshold() {
  int lowest = kNoRecords;
  for (const auto& item : attached_) lowest = std::min(lowest, static_cast<int>(item.min_level));
  record_threshold_.store(lowest, std::memory_order_relaxed);
}

void Logger::log(LogLevel level, std::string_view event, boost::json::object fields) {
  if (consuming_sink == nullptr &&
      static_cast<int>(level) >= record_threshold_.load(std::memory_order_relaxed)) {
    const LogRecord record{level, event, fields, std::chrono::system_clock::now()};
    std::shared_lock lock(attached_mutex_);
    for (const auto& item : attached_) {
      if (level < item.min_level) continue;
      consuming_sink = item.sink;
      item.sink->consume(record);
      consuming_sink = nullptr;
    }
  }
  if (level < threshold_) return;
  boost::json::object line;
  line.reserve(fields.size() + 3);
  line["ts"] = utc_timestamp();
  line["level"] = to_string(level);
  line["event"] = event;
  for (auto& field : fields) {
    // A field may not pass itself off as the line's own time, level or event.
    const std::string_view key = field.key();
    if (key == "ts" || key == "level" || key == "event") {
      line["field_" + std::string(key)] = std::move(field.value());
    } else {
      line[key] = std::move(field.value());
    }
  }
  sink_.write_line(boost::json::serialize(line));
}

}  // namespace parley::core
