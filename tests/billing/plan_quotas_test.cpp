// PlanQuotas on real databases: each user's plan sets their limits, counted per UTC day, and an
// utterance that runs past the limit closes the day.

#include "billing/plan_quotas.hpp"

#include <gtest/gtest.h>

#include "core/billing_test_support.hpp"

namespace parley::billing {
namespace {

constexpr std::int64_t kNoon = 1'767'268'800'000;  // 2026-01-01T12:00:00Z

class PlanQuotasTest : public test::DatabaseTest {
 protected:
  Plans plans() {
    Plans p;
    p.free = {60, 100, false, false, 3};
    p.paid = {3600, 10'000, true, true, 50};
    p.price_monthly = "price_monthly";
    p.price_yearly = "price_yearly";
    return p;
  }
  test::TestClock clock_{kNoon};
};

TEST_P(PlanQuotasTest, ThePlanSetsTheLimitsAndTheEntitlements) {
  BillingStore store(*db_, clock_);
  UsageMeter meter(*db_, clock_);
  PlanQuotas quotas(store, meter, clock_, plans());
  const auto user = add_user("ana");
  EXPECT_TRUE(quotas.consume(user, core::Metered::translated_chars, 100));
  auto over = quotas.consume(user, core::Metered::translated_chars, 1);
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, Errc::quota_exceeded);
  EXPECT_EQ(quotas.check(user, core::Metered::translated_chars).error().code, Errc::quota_exceeded);
  EXPECT_TRUE(quotas.check(user, core::Metered::speech_seconds));
  EXPECT_EQ(quotas.require(user, core::Entitlement::cloud_engines).error().code,
            Errc::quota_exceeded);
  EXPECT_EQ(*quotas.room_member_limit(user), 3);

  // Subscribed: the paid limits at once.
  SubscriptionSnapshot paid{"sub_1",     "active", "monthly", false, kNoon / 1000 + 86400,
                            kNoon / 1000};
  ASSERT_TRUE(store.apply(user, paid));
  EXPECT_TRUE(quotas.consume(user, core::Metered::translated_chars, 1));
  EXPECT_TRUE(quotas.require(user, core::Entitlement::voice_cloning));
  EXPECT_EQ(*quotas.room_member_limit(user), 50);
  quotas.refund(user, core::Metered::translated_chars, 1);
  EXPECT_EQ(*meter.used_today(user, Feature::translated_chars), 100);
}

TEST_P(PlanQuotasTest, UsingUpTheDayClosesItUntilMidnight) {
  BillingStore store(*db_, clock_);
  UsageMeter meter(*db_, clock_);
  PlanQuotas quotas(store, meter, clock_, plans());
  const auto user = add_user("ben");
  ASSERT_TRUE(quotas.consume(user, core::Metered::speech_seconds, 59));
  EXPECT_TRUE(quotas.check(user, core::Metered::speech_seconds)) << "one second is left";
  // An utterance of 5 s does not fit: the day is used up, so no new stream starts.
  ASSERT_FALSE(quotas.consume(user, core::Metered::speech_seconds, 5));
  quotas.use_up(user, core::Metered::speech_seconds);
  EXPECT_EQ(*meter.used_today(user, Feature::speech_seconds), 60);
  auto closed = quotas.check(user, core::Metered::speech_seconds);
  ASSERT_FALSE(closed);
  EXPECT_GT(closed.error().retry_after.count(), 0);
  quotas.use_up(user, core::Metered::speech_seconds);  // idempotent
  EXPECT_EQ(*meter.used_today(user, Feature::speech_seconds), 60);
  clock_.advance_ms(12 * 3600 * 1000);  // the next UTC day
  EXPECT_TRUE(quotas.check(user, core::Metered::speech_seconds));
}

INSTANTIATE_TEST_SUITE_P(Backends, PlanQuotasTest,
                         ::testing::Values(testing::DatabaseKind::sqlite,
                                           testing::DatabaseKind::postgres),
                         test::backend_name);

}  // namespace
}  // namespace parley::billing
