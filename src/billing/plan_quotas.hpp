#pragma once
// core::Quotas from the users' subscriptions: each user's plan (BillingStore) sets their limits
// (Plans), and the daily counters (UsageMeter) count what they used.

#include "billing/core/billing_store.hpp"
#include "billing/core/plans.hpp"
#include "billing/core/usage_meter.hpp"
#include "core/clock.hpp"
#include "core/quotas.hpp"

namespace parley::billing {

class PlanQuotas final : public core::Quotas {
 public:
  /// `store`, `meter` and `clock` must outlive this object.
  PlanQuotas(BillingStore& store, UsageMeter& meter, const core::Clock& clock, Plans plans)
      : store_(store), meter_(meter), clock_(clock), plans_(std::move(plans)) {}

  Result<void> consume(std::int64_t user_id, core::Metered metered, std::int64_t amount) override;
  Result<void> check(std::int64_t user_id, core::Metered metered) override;
  void refund(std::int64_t user_id, core::Metered metered, std::int64_t amount) noexcept override;
  void use_up(std::int64_t user_id, core::Metered metered) noexcept override;
  Result<void> require(std::int64_t user_id, core::Entitlement entitlement) override;
  Result<std::int64_t> room_member_limit(std::int64_t owner_id) override;

  /// The user's plan limits now. BLOCKS. Errors: storage errors.
  Result<PlanLimits> limits_of(std::int64_t user_id);
  [[nodiscard]] const Plans& plans() const noexcept { return plans_; }

 private:
  BillingStore& store_;
  UsageMeter& meter_;
  const core::Clock& clock_;
  Plans plans_;
};

/// The meter's feature for a quota's measure.
Feature feature_of(core::Metered metered) noexcept;

}  // namespace parley::billing
