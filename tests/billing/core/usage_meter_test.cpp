// UsageMeter against real databases (SQLite and PostgreSQL): the limit's boundary, UTC day
// rollover, concurrent consumers from two pools, refunds, retention and cascades.

#include "billing/core/usage_meter.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "billing_test_support.hpp"

namespace parley::billing {
namespace {

// 2026-01-01T12:00:00Z
constexpr std::int64_t kNoon = 1'767'268'800'000;
constexpr std::int64_t kNextMidnight = 1'767'312'000'000;  // 2026-01-02T00:00:00Z

class UsageMeterTest : public test::DatabaseTest {
 protected:
  test::TestClock clock_{kNoon};
};

TEST_P(UsageMeterTest, ExactlyTheLimitPassesOneMoreFails) {
  UsageMeter meter(*db_, clock_);
  const auto user = add_user("ada");
  auto first = meter.consume(user, Feature::speech_seconds, 599, 600);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(*first, 599);
  auto last = meter.consume(user, Feature::speech_seconds, 1, 600);
  ASSERT_TRUE(last) << last.error().message;
  EXPECT_EQ(*last, 600);

  auto over = meter.consume(user, Feature::speech_seconds, 1, 600);
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, Errc::quota_exceeded);
  EXPECT_EQ(over.error().message,
            "daily limit of 10 minutes of speech recognition reached; resets at 00:00 UTC");
  EXPECT_EQ(over.error().retry_after.count(), kNextMidnight - kNoon);
  EXPECT_EQ(*meter.used_today(user, Feature::speech_seconds), 600);

  // Nothing more fits, but asking for nothing does (it reads the total).
  auto zero = meter.consume(user, Feature::speech_seconds, 0, 600);
  ASSERT_TRUE(zero);
  EXPECT_EQ(*zero, 600);
}

TEST_P(UsageMeterTest, AFailedConsumptionCountsNothing) {
  UsageMeter meter(*db_, clock_);
  const auto user = add_user("ada");
  ASSERT_TRUE(meter.consume(user, Feature::translated_chars, 4'000, 5'000));
  auto too_big = meter.consume(user, Feature::translated_chars, 1'001, 5'000);
  ASSERT_FALSE(too_big);
  EXPECT_EQ(too_big.error().code, Errc::quota_exceeded);
  EXPECT_EQ(too_big.error().message,
            "daily limit of 5,000 translated characters reached; resets at 00:00 UTC");
  EXPECT_EQ(*meter.used_today(user, Feature::translated_chars), 4'000);
  // Larger than the whole limit: refused without touching the database.
  auto huge = meter.consume(user, Feature::translated_chars, 5'001, 5'000);
  ASSERT_FALSE(huge);
  EXPECT_EQ(huge.error().code, Errc::quota_exceeded);
  // What still fits does.
  auto rest = meter.consume(user, Feature::translated_chars, 1'000, 5'000);
  ASSERT_TRUE(rest);
  EXPECT_EQ(*rest, 5'000);
}

TEST_P(UsageMeterTest, FeaturesAndUsersAreCountedApart) {
  UsageMeter meter(*db_, clock_);
  const auto ada = add_user("ada");
  const auto bob = add_user("bob");
  ASSERT_TRUE(meter.consume(ada, Feature::speech_seconds, 10, 10));
  EXPECT_TRUE(meter.consume(ada, Feature::translated_chars, 10, 10));
  EXPECT_TRUE(meter.consume(bob, Feature::speech_seconds, 10, 10));
  EXPECT_EQ(*meter.used_today(ada, Feature::speech_seconds), 10);
  EXPECT_EQ(*meter.used_today(bob, Feature::translated_chars), 0);
}

TEST_P(UsageMeterTest, CountersResetAtUtcMidnight) {
  UsageMeter meter(*db_, clock_);
  const auto user = add_user("ada");
  clock_.set(kNextMidnight - 1'000);  // 23:59:59
  ASSERT_TRUE(meter.consume(user, Feature::speech_seconds, 600, 600));
  auto over = meter.consume(user, Feature::speech_seconds, 1, 600);
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().retry_after.count(), 1'000);

  clock_.set(kNextMidnight);  // 00:00:00 the next day
  EXPECT_EQ(*meter.used_today(user, Feature::speech_seconds), 0);
  auto fresh = meter.consume(user, Feature::speech_seconds, 600, 600);
  ASSERT_TRUE(fresh) << fresh.error().message;
  EXPECT_EQ(*fresh, 600);

  // Both days are kept, each with its own count.
  auto rows = sql("SELECT day, amount FROM usage_daily WHERE user_id = $1 ORDER BY day", {user});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(*rows[0].get<std::string>("day"), "2026-01-01");
  EXPECT_EQ(*rows[1].get<std::string>("day"), "2026-01-02");
}

TEST_P(UsageMeterTest, ConcurrentConsumersNeverPassTheLimit) {
  // 8 threads on two pools (two "processes"), each trying 20 times to consume 1 against a
  // limit of 50: exactly 50 attempts succeed.
  auto other = open();
  ASSERT_TRUE(other);
  UsageMeter first(*db_, clock_);
  UsageMeter second(*other, clock_);
  const auto user = add_user("ada");
  constexpr int kThreads = 8;
  constexpr int kAttempts = 20;
  std::atomic<int> succeeded{0};
  std::atomic<int> refused{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      UsageMeter& meter = t % 2 == 0 ? first : second;
      for (int i = 0; i < kAttempts; ++i) {
        auto result = meter.consume(user, Feature::translated_chars, 1, 50);
        if (result) {
          ++succeeded;
          EXPECT_LE(*result, 50);
        } else if (result.error().code == Errc::quota_exceeded) {
          ++refused;
        } else {
          ++failed;
          ADD_FAILURE() << result.error().message;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(succeeded.load(), 50);
  EXPECT_EQ(refused.load(), kThreads * kAttempts - 50);
  EXPECT_EQ(*first.used_today(user, Feature::translated_chars), 50);
}

TEST_P(UsageMeterTest, RefundsNeverGoBelowZero) {
  UsageMeter meter(*db_, clock_);
  const auto user = add_user("ada");
  // Nothing consumed yet: a refund does nothing.
  ASSERT_TRUE(meter.refund(user, Feature::speech_seconds, 5));
  EXPECT_EQ(*meter.used_today(user, Feature::speech_seconds), 0);

  ASSERT_TRUE(meter.consume(user, Feature::speech_seconds, 10, 10));
  ASSERT_TRUE(meter.refund(user, Feature::speech_seconds, 4));
  EXPECT_EQ(*meter.used_today(user, Feature::speech_seconds), 6);
  ASSERT_TRUE(meter.refund(user, Feature::speech_seconds, 100));
  EXPECT_EQ(*meter.used_today(user, Feature::speech_seconds), 0);
  ASSERT_TRUE(meter.refund(user, Feature::speech_seconds, 0));
  // What was refunded can be consumed again.
  EXPECT_TRUE(meter.consume(user, Feature::speech_seconds, 10, 10));
}

TEST_P(UsageMeterTest, BadInput) {
  UsageMeter meter(*db_, clock_);
  const auto user = add_user("ada");
  auto negative = meter.consume(user, Feature::speech_seconds, -1, 10);
  ASSERT_FALSE(negative);
  EXPECT_EQ(negative.error().code, Errc::validation_failed);
  auto negative_refund = meter.refund(user, Feature::speech_seconds, -1);
  ASSERT_FALSE(negative_refund);
  EXPECT_EQ(negative_refund.error().code, Errc::validation_failed);

  auto nobody = meter.consume(user + 1000, Feature::speech_seconds, 1, 10);
  ASSERT_FALSE(nobody);
  EXPECT_EQ(nobody.error().code, Errc::not_found);

  // A plan without the feature: refused, and waiting for midnight would not help.
  auto none = meter.consume(user, Feature::speech_seconds, 1, 0);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, Errc::quota_exceeded);
  EXPECT_EQ(none.error().message, "speech recognition is not included in your plan");
  EXPECT_EQ(none.error().retry_after.count(), 0);
}

TEST_P(UsageMeterTest, PurgeKeepsRecentDaysAndDeletedUsersTakeTheirCounters) {
  UsageMeter meter(*db_, clock_);
  const auto ada = add_user("ada");
  const auto bob = add_user("bob");
  constexpr std::int64_t kDay = 86'400'000;
  clock_.set(kNoon - 40 * kDay);
  ASSERT_TRUE(meter.consume(ada, Feature::speech_seconds, 1, 10));
  clock_.set(kNoon - 2 * kDay);
  ASSERT_TRUE(meter.consume(ada, Feature::speech_seconds, 1, 10));
  clock_.set(kNoon);
  ASSERT_TRUE(meter.consume(ada, Feature::speech_seconds, 1, 10));
  ASSERT_TRUE(meter.consume(bob, Feature::speech_seconds, 1, 10));
  auto purged = meter.purge(35);
  ASSERT_TRUE(purged) << purged.error().message;
  EXPECT_EQ(*purged, 1);
  EXPECT_EQ(*sql("SELECT COUNT(*) AS n FROM usage_daily")[0].get<std::int64_t>("n"), 3);

  sql("DELETE FROM users WHERE id = $1 RETURNING id", {ada});
  EXPECT_EQ(*sql("SELECT COUNT(*) AS n FROM usage_daily")[0].get<std::int64_t>("n"), 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, UsageMeterTest,
                         ::testing::Values(testing::DatabaseKind::sqlite,
                                           testing::DatabaseKind::postgres),
                         test::backend_name);

}  // namespace
}  // namespace parley::billing
