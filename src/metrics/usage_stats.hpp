#pragma once
// Usage statistics for administrators, read from the database (so they cover every process):
// active users (distinct senders of messages), messages, and the metered speech seconds and
// translated characters of usage_daily (counted where plans are enforced, i.e. with payments
// configured).

#include <cstdint>

#include "core/error.hpp"
#include "store/database.hpp"

namespace parley::metrics {

struct UsageStats {
  std::int64_t active_users_24h = 0;  ///< distinct senders in the last 24 hours
  std::int64_t active_users_7d = 0;   ///< ... in the last 7 days
  std::int64_t messages_total = 0;
  std::int64_t messages_24h = 0;
  double speech_seconds_total = 0;  ///< usage_daily, every day kept
  double speech_seconds_7d = 0;     ///< usage_daily, today and the 6 days before (UTC)
  double translated_characters_total = 0;
  double translated_characters_7d = 0;
};

/// BLOCKING. System messages and deleted senders do not count as activity.
/// Errors: storage errors.
Result<UsageStats> read_usage_stats(store::Database& database, std::int64_t now_ms);

/// "YYYY-MM-DD" (UTC) of a Unix time in milliseconds.
std::string utc_day(std::int64_t unix_ms);

}  // namespace parley::metrics
