// Plans: defaults, plan/price mapping, limits from the configuration; and the pure helpers of the
// usage meter (UTC days, time to midnight, quota messages).

#include "billing/core/plans.hpp"

#include <gtest/gtest.h>

#include <map>

#include "billing/core/billing_store.hpp"
#include "billing/core/usage_meter.hpp"
#include "core/config.hpp"

namespace parley::billing {
namespace {

core::Config config_from(std::map<std::string, std::string> vars) {
  auto config = core::load_config(core::Environment(std::move(vars)));
  EXPECT_TRUE(config) << config.error().message;
  return config ? *config : core::Config{};
}

TEST(Plans, DefaultsAreTheDocumentedOnes) {
  const Plans plans;
  EXPECT_EQ(plans.free.speech_seconds_per_day, 600);
  EXPECT_EQ(plans.free.translated_chars_per_day, 5'000);
  EXPECT_FALSE(plans.free.cloud_engines);
  EXPECT_FALSE(plans.free.voice_cloning);
  EXPECT_EQ(plans.free.max_room_members, 20);
  EXPECT_EQ(plans.paid.speech_seconds_per_day, 240 * 60);
  EXPECT_EQ(plans.paid.translated_chars_per_day, 500'000);
  EXPECT_TRUE(plans.paid.cloud_engines);
  EXPECT_TRUE(plans.paid.voice_cloning);
  EXPECT_EQ(plans.paid.max_room_members, 500);
}

TEST(Plans, LimitsByPlanNameUnknownIsFree) {
  const Plans plans;
  EXPECT_EQ(&plans.limits("free"), &plans.free);
  EXPECT_EQ(&plans.limits("monthly"), &plans.paid);
  EXPECT_EQ(&plans.limits("yearly"), &plans.paid);
  EXPECT_EQ(&plans.limits("enterprise"), &plans.free);
  EXPECT_EQ(&plans.limits(""), &plans.free);
  EXPECT_EQ(&plans.limits("Monthly"), &plans.free);
  EXPECT_TRUE(is_paid_plan("monthly"));
  EXPECT_TRUE(is_paid_plan("yearly"));
  EXPECT_FALSE(is_paid_plan("free"));
  EXPECT_TRUE(is_known_plan("free"));
  EXPECT_FALSE(is_known_plan("gold"));
}

TEST(Plans, PricesMapToPlansAndBack) {
  Plans plans;
  plans.price_monthly = "price_month";
  plans.price_yearly = "price_year";
  EXPECT_EQ(plans.plan_of_price("price_month"), "monthly");
  EXPECT_EQ(plans.plan_of_price("price_year"), "yearly");
  EXPECT_EQ(plans.plan_of_price("price_other"), std::nullopt);
  EXPECT_EQ(plans.plan_of_price(""), std::nullopt);
  EXPECT_EQ(plans.price_of_plan("monthly"), "price_month");
  EXPECT_EQ(plans.price_of_plan("yearly"), "price_year");
  EXPECT_EQ(plans.price_of_plan("free"), std::nullopt);
  EXPECT_EQ(plans.price_of_plan("gold"), std::nullopt);

  // Unset prices: nothing maps, not even the empty id.
  const Plans unset;
  EXPECT_EQ(unset.plan_of_price(""), std::nullopt);
  EXPECT_EQ(unset.price_of_plan("monthly"), std::nullopt);
}

TEST(Plans, FromConfiguration) {
  const auto defaults = plans_from_config(config_from({}));
  EXPECT_EQ(defaults.free.speech_seconds_per_day, Plans{}.free.speech_seconds_per_day);
  EXPECT_EQ(defaults.paid.translated_chars_per_day, Plans{}.paid.translated_chars_per_day);
  EXPECT_TRUE(defaults.price_monthly.empty());

  const auto plans = plans_from_config(config_from({{"PARLEY_FREE_SPEECH_MINUTES_PER_DAY", "3"},
                                                    {"PARLEY_FREE_TRANSLATED_CHARS_PER_DAY", "0"},
                                                    {"PARLEY_FREE_MAX_ROOM_MEMBERS", "5"},
                                                    {"PARLEY_PAID_SPEECH_MINUTES_PER_DAY", "1440"},
                                                    {"PARLEY_PAID_TRANSLATED_CHARS_PER_DAY", "7"},
                                                    {"PARLEY_PAID_MAX_ROOM_MEMBERS", "5"},
                                                    {"STRIPE_PRICE_MONTHLY", "price_m"},
                                                    {"STRIPE_PRICE_YEARLY", "price_y"}}));
  EXPECT_EQ(plans.free.speech_seconds_per_day, 180);
  EXPECT_EQ(plans.free.translated_chars_per_day, 0);
  EXPECT_EQ(plans.free.max_room_members, 5);
  EXPECT_EQ(plans.paid.speech_seconds_per_day, 86'400);
  EXPECT_EQ(plans.paid.translated_chars_per_day, 7);
  EXPECT_EQ(plans.paid.max_room_members, 5);
  EXPECT_FALSE(plans.free.cloud_engines);
  EXPECT_TRUE(plans.paid.voice_cloning);
  EXPECT_EQ(plans.plan_of_price("price_y"), "yearly");
}

TEST(UsageHelpers, UtcDays) {
  EXPECT_EQ(utc_day(0), "1970-01-01");
  EXPECT_EQ(utc_day(1'767'225'660'000), "2026-01-01");
  EXPECT_EQ(utc_day(1'767'225'599'999), "2025-12-31");  // 23:59:59.999 the day before
  EXPECT_EQ(utc_day(1'709'164'800'000), "2024-02-29");
  EXPECT_EQ(utc_day(-1), "1969-12-31");
}

TEST(UsageHelpers, TimeToNextUtcMidnight) {
  constexpr std::int64_t midnight = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
  EXPECT_EQ(ms_until_next_utc_day(midnight), 86'400'000);
  EXPECT_EQ(ms_until_next_utc_day(midnight - 1), 1);
  EXPECT_EQ(ms_until_next_utc_day(midnight + 60'000), 86'400'000 - 60'000);
}

TEST(UsageHelpers, QuotaMessagesNameTheLimit) {
  EXPECT_EQ(limit_reached_message(Feature::speech_seconds, 600),
            "daily limit of 10 minutes of speech recognition reached; resets at 00:00 UTC");
  EXPECT_EQ(limit_reached_message(Feature::speech_seconds, 60),
            "daily limit of 1 minute of speech recognition reached; resets at 00:00 UTC");
  EXPECT_EQ(limit_reached_message(Feature::speech_seconds, 90),
            "daily limit of 90 seconds of speech recognition reached; resets at 00:00 UTC");
  EXPECT_EQ(limit_reached_message(Feature::translated_chars, 5000),
            "daily limit of 5,000 translated characters reached; resets at 00:00 UTC");
  EXPECT_EQ(limit_reached_message(Feature::translated_chars, 1'500'000),
            "daily limit of 1,500,000 translated characters reached; resets at 00:00 UTC");
  EXPECT_EQ(limit_reached_message(Feature::speech_seconds, 0),
            "speech recognition is not included in your plan");
  EXPECT_EQ(to_string(Feature::speech_seconds), "speech_seconds");
  EXPECT_EQ(to_string(Feature::translated_chars), "translated_chars");
}

TEST(SubscriptionStatus, WhichStatusesKeepThePlan) {
  for (const char* status : {"active", "trialing", "past_due"}) {
    EXPECT_TRUE(subscription_grants_plan(status)) << status;
  }
  for (const char* status :
       {"incomplete", "incomplete_expired", "canceled", "unpaid", "paused", "", "Active"}) {
    EXPECT_FALSE(subscription_grants_plan(status)) << status;
  }
}

}  // namespace
}  // namespace parley::billing
