// The debug_log table writer (store/debug_log/): record mapping, the bounded queue and its drop
// report, batching, retention, failures that must not feed themselves, and the Logger hand-off.
// The database tests run on SQLite and on PostgreSQL (scripts/with-postgres.sh).

#include "store/debug_log/debug_log_writer.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <thread>

#include "core/log.hpp"
#include "store/debug_log/debug_log_reader.hpp"
#include "support/database_test.hpp"

namespace parley::testing {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

class ManualClock final : public core::Clock {
 public:
  std::int64_t now_ms() const override { return now_.load(); }
  void set(std::int64_t ms) { now_.store(ms); }

 private:
  std::atomic<std::int64_t> now_{1'700'000'000'000};
};

class LineSink final : public core::LogSink {
 public:
  void write_line(std::string_view line) override {
    std::lock_guard lock(mutex_);
    lines_.emplace_back(line);
  }
  std::size_t count(std::string_view event) const {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    const std::string needle = "\"event\":\"" + std::string(event) + "\"";
    for (const auto& line : lines_) n += line.find(needle) != std::string::npos ? 1 : 0;
    return n;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
};

store::DebugLogEntry entry(std::string source, std::int64_t created_at = 1'700'000'000'000) {
  store::DebugLogEntry e;
  e.level = "info";
  e.source = std::move(source);
  e.message = "text";
  e.context = "{}";
  e.created_at = created_at;
  return e;
}

// --- mapping (no database) ---------------------------------------------------------------------

TEST(DebugLogEntryTest, MapsEventFieldsAndRequestId) {
  const json::object fields{
      {"request_id", "req-1"}, {"error", "disk full"}, {"path", "/api/x"}, {"status", 500}};
  const core::LogRecord record{core::LogLevel::error, "request_failed", fields, {}};
  const auto e = store::to_debug_log_entry(record, 42);
  EXPECT_EQ(e.level, "error");
  EXPECT_EQ(e.source, "request_failed");
  EXPECT_EQ(e.message, "disk full");
  EXPECT_EQ(e.request_id, "req-1");
  EXPECT_EQ(e.created_at, 42);
  EXPECT_EQ(json::parse(e.context), (json::object{{"path", "/api/x"}, {"status", 500}}));
}

TEST(DebugLogEntryTest, MessageFallsBackToMessageFieldThenEvent) {
  const json::object with_message{{"message", "hello"}, {"n", 1}};
  const auto a = store::to_debug_log_entry({core::LogLevel::info, "ev", with_message, {}}, 0);
  EXPECT_EQ(a.message, "hello");
  EXPECT_EQ(json::parse(a.context), (json::object{{"n", 1}}));
  EXPECT_FALSE(a.request_id);
  const json::object plain{{"n", 2}};
  const auto b =
      store::to_debug_log_entry({core::LogLevel::debug, "socket_connected", plain, {}}, 0);
  EXPECT_EQ(b.message, "socket_connected");
  EXPECT_EQ(b.level, "debug");
}

TEST(DebugLogEntryTest, TextIsValidUtf8WithoutNulAndBounded) {
  const json::object fields{{"error", std::string("bad \xC3\x28 byte\0nul", 15)},
                            {"big", std::string(40'000, 'x')}};
  const auto e = store::to_debug_log_entry({core::LogLevel::warning, "ev", fields, {}}, 0);
  EXPECT_EQ(e.message, "bad \xEF\xBF\xBD( byte\xEF\xBF\xBDnul");
  EXPECT_LE(e.context.size(), 16u * 1024);
  const auto context = json::parse(e.context).as_object();
  EXPECT_EQ(context.at("truncated"), true);
  const std::string long_error(5000, 'e');
  const auto cut =
      store::to_debug_log_entry({core::LogLevel::error, "ev", {{"error", long_error}}, {}}, 0);
  EXPECT_EQ(cut.message.size(), 1000u);
}

// --- the Logger hand-off (no database) ---------------------------------------------------------

class CountingRecordSink final : public core::LogRecordSink {
 public:
  explicit CountingRecordSink(core::Logger* log = nullptr) : log_(log) {}
  void consume(const core::LogRecord& record) noexcept override {
    events.emplace_back(record.event);
    // Logging from inside consume() must not come back here (nor deadlock).
    if (log_ != nullptr) log_->error("inside_consume");
  }
  std::vector<std::string> events;

 private:
  core::Logger* log_;
};

TEST(LoggerRecordSinkTest, GetsRecordsAtItsLevelWhateverTheLineThreshold) {
  LineSink lines;
  core::Logger log(lines, core::LogLevel::error);
  EXPECT_FALSE(log.enabled(core::LogLevel::info));
  CountingRecordSink records(&log);
  {
    auto attached = log.attach(records, core::LogLevel::info);
    EXPECT_TRUE(log.enabled(core::LogLevel::info));
    EXPECT_FALSE(log.enabled(core::LogLevel::debug));
    log.debug("too_low");
    log.info("kept", {{"a", 1}});
    log.error("kept_too");
  }
  log.info("after_detach");
  EXPECT_EQ(records.events, (std::vector<std::string>{"kept", "kept_too"}));
  // Lines follow LOG_LEVEL only: the info record went to the sink, not to stdout.
  EXPECT_EQ(lines.count("kept"), 0u);
  EXPECT_EQ(lines.count("kept_too"), 1u);
  EXPECT_EQ(lines.count("inside_consume"), 2u);
  EXPECT_FALSE(log.enabled(core::LogLevel::info));
}

// --- against a database --------------------------------------------------------------------------

class DebugLogWriterTest : public MigratedDatabaseTest {
 protected:
  std::int64_t rows(const std::string& where = "1 = 1") {
    auto result = sql("SELECT COUNT(*) AS n FROM debug_log WHERE " + where);
    return result.empty() ? -1 : result[0].get<std::int64_t>("n").value();
  }
  ManualClock clock_;
  LineSink lines_;
  core::Logger log_{lines_, core::LogLevel::debug};
};

INSTANTIATE_TEST_SUITE_P(Backends, DebugLogWriterTest,
                         ::testing::Values(DatabaseKind::sqlite, DatabaseKind::postgres),
                         backend_name);

TEST_P(DebugLogWriterTest, LoggedRecordsBecomeRows) {
  store::DebugLogWriter writer(*db_, clock_, log_);
  auto attached = log_.attach(writer, core::LogLevel::info);
  log_.debug("not_stored");
  log_.info("account_registered", {{"request_id", "req-7"}, {"user_id", 3}});
  log_.error("request_failed", {{"request_id", "req-7"}, {"error", "boom"}, {"unicode", "é"}});
  ASSERT_TRUE(writer.flush(10s));
  EXPECT_EQ(rows(), 2);
  auto read = store::read_debug_log(*db_, {.request_id = std::string("req-7")});
  ASSERT_TRUE(read) << read.error().message;
  ASSERT_EQ(read->size(), 2u);
  EXPECT_EQ((*read)[0].source, "request_failed");  // newest first
  EXPECT_EQ((*read)[0].level, "error");
  EXPECT_EQ((*read)[0].message, "boom");
  EXPECT_EQ(json::parse(*(*read)[0].context), (json::object{{"unicode", "é"}}));
  EXPECT_EQ((*read)[1].source, "account_registered");
  EXPECT_EQ((*read)[1].message, "account_registered");
  EXPECT_GT((*read)[1].created_at, 1'600'000'000'000);
}

TEST_P(DebugLogWriterTest, FullQueueDropsAndReportsTheCountOnceSpaceReturns) {
  store::DebugLogWriterOptions options;
  options.queue_capacity = 5;
  options.batch_size = 100;  // never reached: the writer waits for the interval
  options.flush_interval = 60s;
  store::DebugLogWriter writer(*db_, clock_, log_, options);
  int accepted = 0;
  for (int i = 0; i < 8; ++i) accepted += writer.enqueue(entry("e" + std::to_string(i))) ? 1 : 0;
  EXPECT_EQ(accepted, 5);
  EXPECT_EQ(writer.stats().dropped, 3u);
  EXPECT_EQ(writer.stats().queued, 5u);
  EXPECT_EQ(rows(), 0) << "nothing is written before the interval or a flush";
  ASSERT_TRUE(writer.flush(10s));
  EXPECT_EQ(rows("source LIKE 'e%'"), 5);
  auto report = sql("SELECT level, message, context FROM debug_log WHERE source = $1",
                    {std::string("debug_log_dropped")});
  ASSERT_EQ(report.size(), 1u);
  EXPECT_EQ(report[0].get<std::string>("level").value(), "warning");
  EXPECT_EQ(json::parse(report[0].get<std::string>("context").value()).at("dropped"), 3);
  EXPECT_EQ(lines_.count("debug_log_dropped"), 1u);
  // Space is back: accepted again, and no second report.
  EXPECT_TRUE(writer.enqueue(entry("later")));
  ASSERT_TRUE(writer.flush(10s));
  EXPECT_EQ(rows("source = 'debug_log_dropped'"), 1);
  EXPECT_EQ(writer.stats().written, 7u);
}

TEST_P(DebugLogWriterTest, WritesFullBatchesWithoutWaitingAndTheRestAfterTheInterval) {
  store::DebugLogWriterOptions options;
  options.batch_size = 4;
  options.flush_interval = 1500ms;
  store::DebugLogWriter writer(*db_, clock_, log_, options);
  for (int i = 0; i < 4; ++i) writer.enqueue(entry("full"));
  // A full batch wakes the writer at once, well before the interval.
  const auto deadline = std::chrono::steady_clock::now() + 1000ms;
  while (rows() < 4 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(rows(), 4);
  // A partial batch waits for the interval (no flush asked), then goes.
  writer.enqueue(entry("partial"));
  writer.enqueue(entry("partial"));
  EXPECT_EQ(rows(), 4);
  const auto later = std::chrono::steady_clock::now() + 5s;
  while (rows() < 6 && std::chrono::steady_clock::now() < later) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(rows(), 6);
  // Many at once: each transaction takes at most batch_size rows, all arrive.
  for (int i = 0; i < 250; ++i) writer.enqueue(entry("bulk"));
  ASSERT_TRUE(writer.flush(20s));
  EXPECT_EQ(rows("source = 'bulk'"), 250);
  EXPECT_EQ(writer.stats().failures, 0u);
  EXPECT_EQ(writer.stats().written, 256u);
}

TEST_P(DebugLogWriterTest, StopWritesWhatIsQueued) {
  {
    store::DebugLogWriterOptions options;
    options.flush_interval = 60s;
    store::DebugLogWriter writer(*db_, clock_, log_, options);
    for (int i = 0; i < 10; ++i) writer.enqueue(entry("at_exit"));
  }  // destructor: stop and flush
  EXPECT_EQ(rows("source = 'at_exit'"), 10);
}

TEST_P(DebugLogWriterTest, RetentionDeletesOldRowsAtStartAndPeriodically) {
  const std::int64_t day = 24LL * 3600 * 1000;
  clock_.set(100 * day);
  sql("INSERT INTO debug_log (level, source, message, created_at) VALUES "
      "('info', 'old', 'm', $1), ('info', 'fresh', 'm', $2)",
      {std::int64_t{100 * day - 15 * day}, std::int64_t{100 * day - 13 * day}});
  store::DebugLogWriterOptions options;
  options.retention = std::chrono::hours(24 * 14);
  options.purge_interval = 50ms;
  options.flush_interval = 20ms;
  store::DebugLogWriter writer(*db_, clock_, log_, options);
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (rows("source = 'old'") != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(rows("source = 'old'"), 0) << "purged at start";
  EXPECT_EQ(rows("source = 'fresh'"), 1);
  // Two days later the other row is past retention too: the periodic purge takes it.
  clock_.set(102 * day);
  deadline = std::chrono::steady_clock::now() + 5s;
  while (rows("source = 'fresh'") != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(rows("source = 'fresh'"), 0);
  EXPECT_GE(writer.stats().purged, 2u);
  // And directly.
  sql("INSERT INTO debug_log (level, source, message, created_at) VALUES ('info', 'x', 'm', 1)");
  auto purged = writer.purge_expired();
  ASSERT_TRUE(purged) << purged.error().message;
  EXPECT_LE(*purged, 1);
  EXPECT_EQ(rows("source = 'x'"), 0);
}

TEST_P(DebugLogWriterTest, AFailingDatabaseIsReportedOnLinesOnlyWithBackoff) {
  // The table is gone: every write fails for good (the batch is discarded).
  sql("ALTER TABLE debug_log RENAME TO debug_log_away");
  store::DebugLogWriterOptions options;
  options.flush_interval = 10ms;
  options.initial_backoff = 200ms;
  options.max_backoff = 400ms;
  options.purge_interval = 1h;
  store::DebugLogWriter writer(*db_, clock_, log_, options);
  auto attached = log_.attach(writer, core::LogLevel::debug);
  const auto end = std::chrono::steady_clock::now() + 700ms;
  while (std::chrono::steady_clock::now() < end) {
    log_.info("busy_app", {{"n", 1}});
    std::this_thread::sleep_for(5ms);
  }
  attached.reset();
  const auto stats = writer.stats();
  // 700 ms with backoffs of 200, 400, 400 ms: a handful of attempts, not one per record.
  EXPECT_GE(stats.failures, 1u);
  EXPECT_LE(stats.failures, 4u);
  EXPECT_EQ(lines_.count("debug_log_write_failed"), stats.failures);
  // The failure lines were not queued as records (they would show up as more failures or rows).
  EXPECT_EQ(lines_.count("debug_log_purge_failed"), 1u);
  sql("ALTER TABLE debug_log_away RENAME TO debug_log");
  ASSERT_TRUE(writer.flush(10s));
  EXPECT_EQ(rows("source LIKE 'debug_log%'"), 0) << "the writer's own failures stay on the lines";
  EXPECT_GT(rows("source = 'busy_app'"), 0) << "records queued during the backoff are written";
}

TEST_P(DebugLogWriterTest, ReaderFiltersAndPagesNewestFirst) {
  sql("INSERT INTO debug_log (level, source, message, request_id, created_at) VALUES "
      "('debug', 'a', 'm', 'r1', 100), ('info', 'a', 'm', 'r1', 200), "
      "('warning', 'b', 'm', 'r2', 300), ('error', 'b', 'm', NULL, 400)");
  const auto ids = [&](const store::DebugLogQuery& query) {
    auto read = store::read_debug_log(*db_, query);
    EXPECT_TRUE(read) << read.error().message;
    std::vector<std::int64_t> out;
    if (read) {
      for (const auto& row : *read) out.push_back(row.created_at);
    }
    return out;
  };
  using V = std::vector<std::int64_t>;
  EXPECT_EQ(ids({}), (V{400, 300, 200, 100}));
  EXPECT_EQ(ids({.min_level = core::LogLevel::warning}), (V{400, 300}));
  EXPECT_EQ(ids({.since = 200, .until = 400}), (V{300, 200}));
  EXPECT_EQ(ids({.request_id = std::string("r1")}), (V{200, 100}));
  EXPECT_EQ(ids({.source = std::string("b")}), (V{400, 300}));
  const auto first = store::read_debug_log(*db_, {.limit = 3});
  ASSERT_TRUE(first);
  ASSERT_EQ(first->size(), 3u);
  EXPECT_EQ(ids({.before_id = first->back().id, .limit = 3}), (V{100}));
}

}  // namespace
}  // namespace parley::testing
