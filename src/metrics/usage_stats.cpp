#include "metrics/usage_stats.hpp"

#include <ctime>
#include <string>

namespace parley::metrics {

namespace {

constexpr std::int64_t kDayMs = 24LL * 3600 * 1000;

Result<std::int64_t> count(store::Connection& connection, std::string_view sql,
                           std::initializer_list<store::Value> params) {
  auto rows = connection.query(sql, params);
  if (!rows) return rows.error();
  if (rows->empty()) return std::int64_t{0};
  auto value = (*rows)[0].get<std::int64_t>(std::size_t{0});
  if (!value) return value.error();
  return *value;
}

}  // namespace

std::string utc_day(std::int64_t unix_ms) {
  const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  char text[16];
  std::strftime(text, sizeof text, "%Y-%m-%d", &tm);
  return text;
}

Result<UsageStats> read_usage_stats(store::Database& database, std::int64_t now_ms) {
  auto lease = database.acquire();
  if (!lease) return lease.error();
  auto& db = **lease;
  UsageStats stats;
  constexpr std::string_view kActive =
      "SELECT COUNT(DISTINCT sender_id) FROM messages "
      "WHERE created_at >= $1 AND sender_id IS NOT NULL AND kind <> 'system'";
  auto active_day = count(db, kActive, {now_ms - kDayMs});
  if (!active_day) return active_day.error();
  stats.active_users_24h = *active_day;
  auto active_week = count(db, kActive, {now_ms - 7 * kDayMs});
  if (!active_week) return active_week.error();
  stats.active_users_7d = *active_week;
  auto total = count(db, "SELECT COUNT(*) FROM messages", {});
  if (!total) return total.error();
  stats.messages_total = *total;
  auto recent =
      count(db, "SELECT COUNT(*) FROM messages WHERE created_at >= $1", {now_ms - kDayMs});
  if (!recent) return recent.error();
  stats.messages_24h = *recent;

  const std::string week_start = utc_day(now_ms - 6 * kDayMs);
  auto usage = db.query(
      "SELECT feature, SUM(amount), SUM(CASE WHEN day >= $1 THEN amount ELSE 0 END) "
      "FROM usage_daily GROUP BY feature",
      {week_start});
  if (!usage) return usage.error();
  for (const auto& row : *usage) {
    auto feature = row.get<std::string>(std::size_t{0});
    auto all = row.get<std::optional<double>>(std::size_t{1});
    auto week = row.get<std::optional<double>>(std::size_t{2});
    if (!feature || !all || !week) return fail(Errc::internal, "bad usage_daily row");
    if (*feature == "speech_seconds") {
      stats.speech_seconds_total = all->value_or(0);
      stats.speech_seconds_7d = week->value_or(0);
    } else if (*feature == "translated_chars") {
      stats.translated_characters_total = all->value_or(0);
      stats.translated_characters_7d = week->value_or(0);
    }
  }
  return stats;
}

}  // namespace parley::metrics
