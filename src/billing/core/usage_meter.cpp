#include "billing/core/usage_meter.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace parley::billing {

namespace {

using store::Value;

constexpr std::int64_t kDayMs = 24LL * 3600 * 1000;

/// 1234567 -> "1,234,567".
std::string group_digits(std::int64_t value) {
  std::string digits = std::to_string(value < 0 ? -value : value);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return value < 0 ? "-" + out : out;
}

std::string plural(std::int64_t count, std::string_view unit) {
  return group_digits(count) + " " + std::string(unit) + (count == 1 ? "" : "s");
}

Error bad_amount() { return fail(Errc::validation_failed, "usage amount must not be negative"); }

}  // namespace

std::string_view to_string(Feature feature) noexcept {
  switch (feature) {
    case Feature::speech_seconds:
      return "speech_seconds";
    case Feature::translated_chars:
      return "translated_chars";
  }
  return "unknown";
}

std::string utc_day(std::int64_t unix_ms) {
  using namespace std::chrono;
  const sys_days day = floor<days>(sys_time<milliseconds>(milliseconds(unix_ms)));
  const year_month_day ymd(day);
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return text;
}

std::int64_t ms_until_next_utc_day(std::int64_t unix_ms) {
  using namespace std::chrono;
  const sys_time<milliseconds> now{milliseconds(unix_ms)};
  const sys_time<milliseconds> next = floor<days>(now) + days(1);
  return (next - now).count();
}

std::string limit_reached_message(Feature feature, std::int64_t limit) {
  switch (feature) {
    case Feature::speech_seconds:
      if (limit <= 0) return "speech recognition is not included in your plan";
      return "daily limit of " +
             (limit % 60 == 0 ? plural(limit / 60, "minute") : plural(limit, "second")) +
             " of speech recognition reached; resets at 00:00 UTC";
    case Feature::translated_chars:
      if (limit <= 0) return "translation is not included in your plan";
      return "daily limit of " + plural(limit, "translated character") +
             " reached; resets at 00:00 UTC";
  }
  return "daily limit reached; resets at 00:00 UTC";
}

Result<std::int64_t> UsageMeter::consume(std::int64_t user_id, Feature feature, std::int64_t amount,
                                         std::int64_t limit) {
  if (amount < 0) return bad_amount();
  limit = std::max<std::int64_t>(limit, 0);
  const std::int64_t now = clock_.now_ms();
  auto exceeded = [&] {
    // With no allowance at all, waiting for midnight does not help: no retry_after then.
    const auto wait = limit > 0 ? std::chrono::milliseconds(ms_until_next_utc_day(now))
                                : std::chrono::milliseconds(0);
    return Error(Errc::quota_exceeded, limit_reached_message(feature, limit), wait);
  };
  if (amount > limit) return exceeded();

  const std::string day = utc_day(now);
  const std::string name(to_string(feature));
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto tx = store::Transaction::begin(**lease);  // SQLite: BEGIN IMMEDIATE, the writer lock
  if (!tx) return tx.error();
  // The row must exist for the conditional UPDATE to have something to check; a concurrent
  // insert of the same row makes this one do nothing (PostgreSQL waits for it to commit).
  auto created = (*lease)->execute(
      "INSERT INTO usage_daily (user_id, day, feature, amount) VALUES ($1, $2, $3, 0) "
      "ON CONFLICT (user_id, day, feature) DO NOTHING",
      {Value{user_id}, Value{day}, Value{name}});
  if (!created) {
    if (created.error().code == Errc::validation_failed) {
      return fail(Errc::not_found, "no such user");  // the foreign key
    }
    return created.error();
  }
  // Check and add in one statement: PostgreSQL re-evaluates the WHERE on the row version it
  // locked, so two consumers never both pass on the same remaining allowance.
  auto updated = (*lease)->query(
      "UPDATE usage_daily SET amount = amount + $4 "
      "WHERE user_id = $1 AND day = $2 AND feature = $3 AND amount + $4 <= $5 "
      "RETURNING amount",
      {Value{user_id}, Value{day}, Value{name}, Value{amount}, Value{limit}});
  if (!updated) return updated.error();
  if (updated->empty()) return exceeded();  // the guard rolls back
  auto total = (*updated)[0].get<std::int64_t>(std::size_t{0});
  if (!total) return total.error();
  if (auto done = tx->commit(); !done) return done.error();
  return *total;
}

Result<std::int64_t> UsageMeter::used_today(std::int64_t user_id, Feature feature) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto rows = (*lease)->query(
      "SELECT amount FROM usage_daily WHERE user_id = $1 AND day = $2 AND feature = $3",
      {Value{user_id}, Value{utc_day(clock_.now_ms())}, Value{std::string(to_string(feature))}});
  if (!rows) return rows.error();
  if (rows->empty()) return std::int64_t{0};
  return (*rows)[0].get<std::int64_t>(std::size_t{0});
}

Result<void> UsageMeter::refund(std::int64_t user_id, Feature feature, std::int64_t amount) {
  if (amount < 0) return bad_amount();
  if (amount == 0) return {};
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto updated = (*lease)->execute(
      "UPDATE usage_daily SET amount = CASE WHEN amount > $4 THEN amount - $4 ELSE 0 END "
      "WHERE user_id = $1 AND day = $2 AND feature = $3",
      {Value{user_id}, Value{utc_day(clock_.now_ms())}, Value{std::string(to_string(feature))},
       Value{amount}});
  if (!updated) return updated.error();
  return {};
}

Result<std::int64_t> UsageMeter::purge(int keep_days) {
  const std::int64_t keep = std::max(keep_days, 0);
  const std::string cutoff = utc_day(clock_.now_ms() - keep * kDayMs);
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  return (*lease)->execute("DELETE FROM usage_daily WHERE day < $1", {Value{cutoff}});
}

}  // namespace parley::billing
