#include "billing/plan_quotas.hpp"

namespace parley::billing {

namespace {

std::int64_t limit_of(const PlanLimits& limits, core::Metered metered) {
  return metered == core::Metered::speech_seconds ? limits.speech_seconds_per_day
                                                  : limits.translated_chars_per_day;
}

}  // namespace

Feature feature_of(core::Metered metered) noexcept {
  return metered == core::Metered::speech_seconds ? Feature::speech_seconds
                                                  : Feature::translated_chars;
}

Result<PlanLimits> PlanQuotas::limits_of(std::int64_t user_id) {
  auto state = store_.state(user_id);
  if (!state) return state.error();
  return plans_.limits(state->plan);
}

Result<void> PlanQuotas::consume(std::int64_t user_id, core::Metered metered, std::int64_t amount) {
  auto limits = limits_of(user_id);
  if (!limits) return limits.error();
  auto counted = meter_.consume(user_id, feature_of(metered), amount, limit_of(*limits, metered));
  if (!counted) return counted.error();
  return {};
}

Result<void> PlanQuotas::check(std::int64_t user_id, core::Metered metered) {
  auto limits = limits_of(user_id);
  if (!limits) return limits.error();
  auto used = meter_.used_today(user_id, feature_of(metered));
  if (!used) return used.error();
  const std::int64_t limit = limit_of(*limits, metered);
  if (*used < limit) return {};
  return Error(Errc::quota_exceeded, limit_reached_message(feature_of(metered), limit),
               std::chrono::milliseconds(limit > 0 ? ms_until_next_utc_day(clock_.now_ms()) : 0));
}

void PlanQuotas::refund(std::int64_t user_id, core::Metered metered, std::int64_t amount) noexcept {
  try {
    (void)meter_.refund(user_id, feature_of(metered), amount);
  } catch (...) {  // NOLINT(bugprone-empty-catch): a lost refund only costs the user a little
  }
}

void PlanQuotas::use_up(std::int64_t user_id, core::Metered metered) noexcept {
  try {
    auto limits = limits_of(user_id);
    if (!limits) return;
    const std::int64_t limit = limit_of(*limits, metered);
    auto used = meter_.used_today(user_id, feature_of(metered));
    if (!used || *used >= limit) return;
    (void)meter_.consume(user_id, feature_of(metered), limit - *used, limit);
  } catch (...) {  // NOLINT(bugprone-empty-catch): best effort, like refund
  }
}

Result<void> PlanQuotas::require(std::int64_t user_id, core::Entitlement entitlement) {
  auto limits = limits_of(user_id);
  if (!limits) return limits.error();
  const bool included = entitlement == core::Entitlement::cloud_engines ? limits->cloud_engines
                                                                        : limits->voice_cloning;
  if (included) return {};
  return fail(Errc::quota_exceeded,
              entitlement == core::Entitlement::cloud_engines
                  ? "this needs a cloud engine, which your plan does not include; upgrade to a "
                    "paid plan"
                  : "cloning your voice with the provider is a paid feature; upgrade to a paid "
                    "plan");
}

Result<std::int64_t> PlanQuotas::room_member_limit(std::int64_t owner_id) {
  auto limits = limits_of(owner_id);
  if (!limits) return limits.error();
  return limits->max_room_members;
}

}  // namespace parley::billing
