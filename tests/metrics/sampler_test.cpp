// The sampler and the admin statistics against a real database (SQLite; PostgreSQL under
// scripts/with-postgres.sh): rows with labels as JSON and the node, retention in the same
// transaction, series reads, and usage statistics from messages and usage_daily.

#include "metrics/sampler.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "metrics/usage_stats.hpp"
#include "support/database_test.hpp"

namespace parley::metrics {
namespace {

using testing::DatabaseKind;

class FixedClock final : public core::Clock {
 public:
  std::int64_t now_ms() const override { return now; }
  std::int64_t now = 1'700'000'000'000;
};

class SamplerTest : public testing::MigratedDatabaseTest {};

INSTANTIATE_TEST_SUITE_P(Backends, SamplerTest,
                         ::testing::Values(DatabaseKind::sqlite, DatabaseKind::postgres),
                         testing::backend_name);

TEST_P(SamplerTest, WritesSelectedSeriesAndDropsOldRows) {
  Registry registry;
  registry.counter_family("parley_http_requests_total", "r", {"route", "status"})
      .with({"/a", "200"})
      .inc(7);
  registry.gauge("parley_not_sampled", "n").set(1);
  registry.callback_gauge("parley_socketio_connections", "c", [] { return 3.0; });
  FixedClock clock;
  SamplerOptions options;
  options.series = {"parley_http_requests_total", "parley_socketio_connections"};
  options.retention = std::chrono::hours(1);
  options.node = "node-a";
  MetricsSampler sampler(registry, *db_, clock, options);

  // An old row (past retention) and a recent one from another process.
  sql("INSERT INTO metrics (name, labels, value, recorded_at) VALUES ($1, $2, $3, $4)",
      {"parley_socketio_connections", "{}", 1.0, clock.now - 2 * 3600 * 1000});
  sql("INSERT INTO metrics (name, labels, value, recorded_at) VALUES ($1, $2, $3, $4)",
      {"parley_socketio_connections", "{\"node\":\"node-b\"}", 5.0, clock.now - 60 * 1000});

  auto written = sampler.sample_once();
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_EQ(*written, 2u);

  auto rows =
      sql("SELECT name, labels, value, recorded_at FROM metrics ORDER BY recorded_at, name");
  ASSERT_EQ(rows.size(), 3u) << "the old row went, the other process's recent row stayed";
  EXPECT_EQ(*rows[1].get<std::string>(std::size_t{0}), "parley_http_requests_total");
  auto labels = boost::json::parse(*rows[1].get<std::string>(std::size_t{1})).as_object();
  EXPECT_EQ(labels.at("route"), "/a");
  EXPECT_EQ(labels.at("status"), "200");
  EXPECT_EQ(labels.at("node"), "node-a");
  EXPECT_EQ(*rows[1].get<double>(std::size_t{2}), 7.0);
  EXPECT_EQ(*rows[1].get<std::int64_t>(std::size_t{3}), clock.now);

  auto series = read_series(*db_, "parley_socketio_connections", clock.now - 10 * 60 * 1000, 100);
  ASSERT_TRUE(series) << series.error().message;
  ASSERT_EQ(series->size(), 2u);
  EXPECT_EQ((*series)[0].value, 5.0);
  EXPECT_EQ((*series)[1].value, 3.0);
  EXPECT_EQ((*series)[1].labels, "{\"node\":\"node-a\"}");
  auto limited = read_series(*db_, "parley_socketio_connections", 0, 1);
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->size(), 1u);
}

TEST_P(SamplerTest, UsageStatisticsCountSendersMessagesAndMeteredUsage) {
  const std::int64_t now = 1'700'000'000'000;
  const std::int64_t hour = 3600 * 1000;
  for (int i = 1; i <= 4; ++i) {
    sql("INSERT INTO users (email, username, password_hash, auth_provider, created_at, updated_at) "
        "VALUES ($1, $2, 'x', 'password', $3, $3)",
        {"u" + std::to_string(i) + "@example.test", "u" + std::to_string(i), now});
  }
  auto ids = sql("SELECT id FROM users ORDER BY id");
  ASSERT_EQ(ids.size(), 4u);
  const auto id = [&](int i) {
    return *ids[static_cast<std::size_t>(i - 1)].get<std::int64_t>(std::size_t{0});
  };
  sql("INSERT INTO chatrooms (name, created_at, updated_at) VALUES ('room', $1, $1)", {now});
  auto room = *sql("SELECT id FROM chatrooms")[0].get<std::int64_t>(std::size_t{0});
  std::int64_t seq = 0;
  const auto message = [&](std::optional<std::int64_t> sender, std::string kind, std::int64_t at) {
    sql("INSERT INTO messages (chatroom_id, room_seq, sender_id, kind, text, created_at) "
        "VALUES ($1, $2, $3, $4, 'hi', $5)",
        {room, ++seq, sender ? store::Value{*sender} : store::Value{store::null_value}, kind, at});
  };
  message(id(1), "text", now - hour);        // today
  message(id(1), "speech", now - 2 * hour);  // same sender
  message(id(2), "text", now - 3 * hour);
  message(id(3), "text", now - 3 * 24 * hour);   // this week, not today
  message(id(4), "text", now - 30 * 24 * hour);  // long ago
  message(std::nullopt, "system", now - hour);   // not activity
  const auto today = utc_day(now);
  const auto last_week = utc_day(now - 6 * 24 * hour);
  const auto long_ago = utc_day(now - 20 * 24 * hour);
  for (const auto& [day, feature, amount] :
       std::vector<std::tuple<std::string, std::string, std::int64_t>>{
           {today, "speech_seconds", 90},
           {last_week, "speech_seconds", 30},
           {long_ago, "speech_seconds", 600},
           {today, "translated_chars", 1000},
           {long_ago, "translated_chars", 5}}) {
    sql("INSERT INTO usage_daily (user_id, day, feature, amount) VALUES ($1, $2, $3, $4)",
        {id(1), day, feature, amount});
  }

  auto stats = read_usage_stats(*db_, now);
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->active_users_24h, 2);
  EXPECT_EQ(stats->active_users_7d, 3);
  EXPECT_EQ(stats->messages_total, 6);
  EXPECT_EQ(stats->messages_24h, 4);
  EXPECT_EQ(stats->speech_seconds_total, 720);
  EXPECT_EQ(stats->speech_seconds_7d, 120);
  EXPECT_EQ(stats->translated_characters_total, 1005);
  EXPECT_EQ(stats->translated_characters_7d, 1000);
}

TEST_P(SamplerTest, EmptyDatabaseGivesZeros) {
  auto stats = read_usage_stats(*db_, 1'700'000'000'000);
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->messages_total, 0);
  EXPECT_EQ(stats->speech_seconds_total, 0);
}

TEST(UsageStats, UtcDay) {
  EXPECT_EQ(utc_day(0), "1970-01-01");
  EXPECT_EQ(utc_day(1'700'000'000'000), "2023-11-14");
}

}  // namespace
}  // namespace parley::metrics
