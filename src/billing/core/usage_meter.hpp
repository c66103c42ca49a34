#pragma once
// Per-user daily counters for the plan limits (speech seconds, translated characters), kept in
// usage_daily (migration 0007_billing) so that every Parley process sharing the database counts
// against the same limit. Days are UTC: counters reset at 00:00 UTC.
//
// consume() is check-and-add in one conditional UPDATE (`amount + n <= limit`), so concurrent
// consumers never overshoot a limit, on SQLite (one writer at a time) and on PostgreSQL (the
// UPDATE re-checks the row it locked), and across processes.
//
// Thread-safety: all methods are thread-safe and BLOCK on the database (run them on workers).

#include <cstdint>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "store/database.hpp"

namespace parley::billing {

/// What is metered. The same values as core::Metered (core/quotas.hpp), named alike.
enum class Feature { speech_seconds, translated_chars };

/// The usage_daily.feature token: "speech_seconds", "translated_chars".
std::string_view to_string(Feature feature) noexcept;

/// The UTC day of `unix_ms` as YYYY-MM-DD (the usage_daily.day key).
std::string utc_day(std::int64_t unix_ms);

/// Milliseconds from `unix_ms` to the next 00:00 UTC (1 .. 86'400'000).
std::int64_t ms_until_next_utc_day(std::int64_t unix_ms);

/// The quota_exceeded message for `feature` and `limit`, e.g. "daily limit of 10 minutes of
/// speech recognition reached; resets at 00:00 UTC".
std::string limit_reached_message(Feature feature, std::int64_t limit);

class UsageMeter {
 public:
  /// Both must outlive the meter.
  UsageMeter(store::Database& database, const core::Clock& clock)
      : database_(database), clock_(clock) {}

  /// Adds `amount` to the user's count for today (UTC) if the total stays within `limit`.
  /// @return the new total for today.
  /// Errors: Errc::quota_exceeded (HTTP 402) when today's total plus `amount` would pass
  /// `limit` — nothing is counted then; the message names the limit and retry_after is the time
  /// to the next 00:00 UTC. Errc::validation_failed for a negative amount; Errc::not_found when
  /// the user does not exist; storage errors (busy, unavailable, ...).
  Result<std::int64_t> consume(std::int64_t user_id, Feature feature, std::int64_t amount,
                               std::int64_t limit);

  /// The user's count for today (UTC); 0 when nothing was consumed. Errors: storage errors.
  Result<std::int64_t> used_today(std::int64_t user_id, Feature feature);

  /// Gives back `amount` of today's count (work that was consumed but did not happen), never
  /// going below 0. Work consumed before midnight and refunded after it is refunded from the new
  /// day (at most down to 0). Errors: Errc::validation_failed for a negative amount; storage
  /// errors.
  Result<void> refund(std::int64_t user_id, Feature feature, std::int64_t amount);

  /// Deletes the counters of days more than `keep_days` before today (retention; the counters
  /// are needed only for today). Returns the number of rows deleted. Errors: storage errors.
  Result<std::int64_t> purge(int keep_days = 35);

 private:
  store::Database& database_;
  const core::Clock& clock_;
};

}  // namespace parley::billing
