#include "store/debug_log/debug_log_writer.hpp"

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <stdexcept>
#include <utility>

namespace parley::store {

namespace {

constexpr std::size_t kMaxMessageBytes = 1000;
constexpr std::size_t kMaxContextBytes = 16 * 1024;
constexpr std::size_t kContextHeadBytes = 4096;
// Rows per INSERT statement (6 parameters each: far below SQLite's and PostgreSQL's limits).
constexpr std::size_t kRowsPerStatement = 100;

// Valid UTF-8 without NUL: each invalid byte and each NUL becomes U+FFFD. PostgreSQL refuses
// both in text, and one bad record must not cost its whole batch.
std::string clean_text(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  std::size_t i = 0;
  while (i < in.size()) {
    const auto c = static_cast<unsigned char>(in[i]);
    std::size_t length = 0;
    std::uint32_t min = 0;
    if (c == 0) {
      out += kReplacement;
      ++i;
      continue;
    }
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    if ((c & 0xE0U) == 0xC0U) {
      length = 2;
      min = 0x80;
    } else if ((c & 0xF0U) == 0xE0U) {
      length = 3;
      min = 0x800;
    } else if ((c & 0xF8U) == 0xF0U) {
      length = 4;
      min = 0x10000;
    }
    bool valid = length != 0 && i + length <= in.size();
    std::uint32_t code = 0;
    if (valid) {
      code = c & (0xFFU >> (length + 1));
      for (std::size_t k = 1; k < length; ++k) {
        const auto next = static_cast<unsigned char>(in[i + k]);
        if ((next & 0xC0U) != 0x80U) {
          valid = false;
          break;
        }
        code = (code << 6) | (next & 0x3FU);
      }
    }
    valid = valid && code >= min && code <= 0x10FFFF && (code < 0xD800 || code > 0xDFFF);
    if (valid) {
      out.append(in.substr(i, length));
      i += length;
    } else {
      out += kReplacement;
      ++i;
    }
  }
  return out;
}

// Cuts `text` to at most `max` bytes without splitting a UTF-8 sequence.
std::string cut(std::string text, std::size_t max) {
  if (text.size() <= max) return text;
  std::size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0U) == 0x80U) --end;
  text.resize(end);
  return text;
}

std::string value_text(const boost::json::value& value) {
  if (const auto* s = value.if_string()) return std::string(*s);
  return boost::json::serialize(value);
}

std::string insert_statement(std::size_t rows) {
  std::string sql =
      "INSERT INTO debug_log (level, source, message, context, request_id, created_at) VALUES ";
  for (std::size_t row = 0; row < rows; ++row) {
    const std::size_t base = row * 6;
    if (row != 0) sql += ", ";
    sql += '(';
    for (std::size_t column = 1; column <= 6; ++column) {
      if (column != 1) sql += ", ";
      sql += '$' + std::to_string(base + column);
    }
    sql += ')';
  }
  return sql;
}

bool keeps_batch(Errc code) {
  // Worth trying the same rows again: the database was busy, away or slow.
  return code == Errc::busy || code == Errc::unavailable || code == Errc::timeout;
}

}  // namespace

DebugLogEntry to_debug_log_entry(const core::LogRecord& record, std::int64_t created_at_ms) {
  DebugLogEntry entry;
  entry.level = std::string(core::to_string(record.level));
  entry.source = clean_text(record.event);
  entry.created_at = created_at_ms;
  const boost::json::value* message = record.fields.if_contains("error");
  std::string_view message_key = "error";
  if (message == nullptr) {
    message = record.fields.if_contains("message");
    message_key = "message";
  }
  entry.message =
      cut(clean_text(message != nullptr ? value_text(*message) : record.event), kMaxMessageBytes);
  const boost::json::value* request_id = record.fields.if_contains("request_id");
  if (request_id != nullptr &&
      (request_id->is_string() || request_id->is_int64() || request_id->is_uint64())) {
    entry.request_id = cut(clean_text(value_text(*request_id)), 256);
  }
  boost::json::object context;
  for (const auto& field : record.fields) {
    if (message != nullptr && field.key() == message_key) continue;
    if (entry.request_id && field.key() == "request_id") continue;
    context.emplace(field.key(), field.value());
  }
  std::string text = clean_text(boost::json::serialize(context));
  if (text.size() > kMaxContextBytes) {
    const std::size_t full = text.size();
    text = boost::json::serialize(boost::json::object{
        {"truncated", true}, {"bytes", full}, {"head", cut(std::move(text), kContextHeadBytes)}});
  }
  entry.context = std::move(text);
  return entry;
}

DebugLogWriter::DebugLogWriter(Database& database, const core::Clock& clock, core::Logger& log,
                               DebugLogWriterOptions options)
    : database_(database), clock_(clock), log_(log), options_(options) {
  if (options_.queue_capacity == 0 || options_.batch_size == 0) {
    throw std::invalid_argument("debug_log writer: queue capacity and batch size must be > 0");
  }
  options_.initial_backoff = std::max(options_.initial_backoff, std::chrono::milliseconds(1));
  options_.max_backoff = std::max(options_.max_backoff, options_.initial_backoff);
  thread_ = std::thread([this] { run(); });
  thread_id_ = thread_.get_id();
}

DebugLogWriter::~DebugLogWriter() { stop(); }

void DebugLogWriter::consume(const core::LogRecord& record) noexcept {
  // The writer's own diagnostics (a failing database) go to the line output only.
  if (std::this_thread::get_id() == thread_id_) return;
  try {
    const auto created_at =
        std::chrono::duration_cast<std::chrono::milliseconds>(record.time.time_since_epoch())
            .count();
    enqueue(to_debug_log_entry(record, created_at));
  } catch (...) {
    // Out of memory while copying: the record is lost, as if dropped.
    std::lock_guard lock(mutex_);
    ++stats_.dropped;
    ++dropped_unreported_;
  }
}

bool DebugLogWriter::enqueue(DebugLogEntry entry) noexcept {
  std::lock_guard lock(mutex_);
  if (stopping_ || queue_.size() >= options_.queue_capacity) {
    ++stats_.dropped;
    ++dropped_unreported_;
    return false;
  }
  try {
    queue_.push_back(std::move(entry));
  } catch (...) {
    ++stats_.dropped;
    ++dropped_unreported_;
    return false;
  }
  if (queue_.size() >= options_.batch_size) wake_.notify_one();
  return true;
}

bool DebugLogWriter::flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  flush_requested_ = true;
  wake_.notify_one();
  return drained_.wait_for(lock, timeout, [&] { return queue_.empty() && in_hand_ == 0; });
}

void DebugLogWriter::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable() && std::this_thread::get_id() != thread_id_) thread_.join();
}

DebugLogStats DebugLogWriter::stats() const {
  std::lock_guard lock(mutex_);
  DebugLogStats out = stats_;
  out.queued = queue_.size() + in_hand_;
  return out;
}

Result<std::int64_t> DebugLogWriter::purge_expired() {
  const std::int64_t cutoff = clock_.now_ms() - options_.retention.count();
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto deleted = (*lease)->execute("DELETE FROM debug_log WHERE created_at < $1", {cutoff});
  if (!deleted) return deleted.error();
  std::lock_guard lock(mutex_);
  stats_.purged += static_cast<std::uint64_t>(*deleted);
  return *deleted;
}

Result<void> DebugLogWriter::write(const std::vector<DebugLogEntry>& batch) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto tx = Transaction::begin(**lease);
  if (!tx) return tx.error();
  std::vector<Value> params;
  for (std::size_t start = 0; start < batch.size(); start += kRowsPerStatement) {
    const std::size_t rows = std::min(kRowsPerStatement, batch.size() - start);
    params.clear();
    params.reserve(rows * 6);
    for (std::size_t i = start; i < start + rows; ++i) {
      const auto& entry = batch[i];
      params.emplace_back(entry.level);
      params.emplace_back(entry.source);
      params.emplace_back(entry.message);
      params.emplace_back(entry.context);
      params.push_back(nullable(entry.request_id));
      params.emplace_back(entry.created_at);
    }
    if (auto done = (*lease)->execute(insert_statement(rows), params); !done) return done.error();
  }
  return tx->commit();
}

void DebugLogWriter::purge_and_report() {
  auto purged = purge_expired();
  if (!purged) {
    log_.warning("debug_log_purge_failed",
                 {{"code", to_code(purged.error().code)}, {"error", purged.error().message}});
  } else if (*purged > 0) {
    log_.debug("debug_log_purged", {{"rows", *purged}});
  }
}

void DebugLogWriter::run() {
  using Steady = std::chrono::steady_clock;
  std::vector<DebugLogEntry> batch;  // in hand: taken from the queue, not yet written
  auto next_purge = Steady::now();
  auto retry_at = Steady::now();
  auto backoff = options_.initial_backoff;
  for (;;) {
    bool stopping = false;
    std::uint64_t dropped = 0;
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, options_.flush_interval, [&] {
        return stopping_ || flush_requested_ || queue_.size() >= options_.batch_size;
      });
      stopping = stopping_;
      const bool flushing = std::exchange(flush_requested_, false);
      // While failing, the backoff is waited out unless stopping or asked to flush.
      if (Steady::now() >= retry_at || stopping || flushing) {
        retry_at = Steady::now();
        if (dropped_unreported_ > 0 && batch.size() < options_.batch_size) {
          dropped = std::exchange(dropped_unreported_, 0);
        }
        while (!queue_.empty() && batch.size() + (dropped > 0 ? 1 : 0) < options_.batch_size) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
          ++in_hand_;
        }
      }
    }
    if (dropped > 0) {
      // Space has returned: say how many records were lost, in the table and on the lines.
      log_.warning("debug_log_dropped", {{"dropped", dropped}});
      DebugLogEntry report;
      report.level = "warning";
      report.source = "debug_log_dropped";
      report.message = std::to_string(dropped) + " log records dropped: the queue was full";
      report.context = boost::json::serialize(boost::json::object{{"dropped", dropped}});
      report.created_at = clock_.now_ms();
      batch.push_back(std::move(report));
    }

    std::optional<Error> failure;
    if (!batch.empty() && Steady::now() >= retry_at) {
      auto written = write(batch);
      std::lock_guard lock(mutex_);
      if (written) {
        stats_.written += batch.size();
        batch.clear();
        in_hand_ = 0;
        backoff = options_.initial_backoff;
      } else {
        failure = written.error();
        ++stats_.failures;
        retry_at = Steady::now() + backoff;
        backoff = std::min(backoff * 2, options_.max_backoff);
        // Refused for good, or no time left: the rows are lost (and counted). Stopping with the
        // database away must not hold the shutdown up batch after batch.
        if (!keeps_batch(failure->code) || stopping) {
          stats_.discarded += in_hand_ + (stopping ? queue_.size() : 0);
          batch.clear();
          in_hand_ = 0;
          if (stopping) queue_.clear();
        }
      }
    }
    if (failure) {
      // On this thread the Logger's record sinks skip it: lines only, once per backoff.
      log_.error("debug_log_write_failed",
                 {{"code", to_code(failure->code)},
                  {"error", failure->message},
                  {"retry_in_ms",
                   std::chrono::duration_cast<std::chrono::milliseconds>(retry_at - Steady::now())
                       .count()}});
    }

    if (!stopping && Steady::now() >= next_purge) {
      purge_and_report();
      next_purge = Steady::now() + options_.purge_interval;
    }

    std::lock_guard lock(mutex_);
    const bool empty = queue_.empty() && in_hand_ == 0;
    if (empty) drained_.notify_all();
    if (stopping && empty) return;
    if (stopping) flush_requested_ = true;  // keep going without waiting
  }
}

}  // namespace parley::store
