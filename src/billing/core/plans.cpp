#include "billing/core/plans.hpp"

#include "core/config.hpp"

namespace parley::billing {

bool is_paid_plan(std::string_view plan) noexcept {
  return plan == kPlanMonthly || plan == kPlanYearly;
}

bool is_known_plan(std::string_view plan) noexcept {
  return plan == kPlanFree || is_paid_plan(plan);
}

PlanLimits default_free_limits() {
  PlanLimits limits;
  limits.speech_seconds_per_day = 10 * 60;
  limits.translated_chars_per_day = 5'000;
  limits.cloud_engines = false;
  limits.voice_cloning = false;
  limits.max_room_members = 20;
  return limits;
}

PlanLimits default_paid_limits() {
  PlanLimits limits;
  limits.speech_seconds_per_day = 240 * 60;
  limits.translated_chars_per_day = 500'000;
  limits.cloud_engines = true;
  limits.voice_cloning = true;
  limits.max_room_members = 500;
  return limits;
}

const PlanLimits& Plans::limits(std::string_view plan) const noexcept {
  return is_paid_plan(plan) ? paid : free;
}

std::optional<std::string> Plans::plan_of_price(std::string_view price_id) const {
  if (price_id.empty()) return std::nullopt;
  if (price_id == price_monthly) return std::string(kPlanMonthly);
  if (price_id == price_yearly) return std::string(kPlanYearly);
  return std::nullopt;
}

std::optional<std::string> Plans::price_of_plan(std::string_view plan) const {
  const std::string* price = nullptr;
  if (plan == kPlanMonthly) price = &price_monthly;
  if (plan == kPlanYearly) price = &price_yearly;
  if (price == nullptr || price->empty()) return std::nullopt;
  return *price;
}

Plans plans_from_config(const core::Config& config) {
  Plans plans;
  plans.free.speech_seconds_per_day = config.free_speech_minutes_per_day * 60;
  plans.free.translated_chars_per_day = config.free_translated_chars_per_day;
  plans.free.max_room_members = config.free_max_room_members;
  plans.paid.speech_seconds_per_day = config.paid_speech_minutes_per_day * 60;
  plans.paid.translated_chars_per_day = config.paid_translated_chars_per_day;
  plans.paid.max_room_members = config.paid_max_room_members;
  plans.price_monthly = config.stripe_price_monthly;
  plans.price_yearly = config.stripe_price_yearly;
  return plans;
}

}  // namespace parley::billing
