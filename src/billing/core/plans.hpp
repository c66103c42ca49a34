#pragma once
// Parley's plans and what each allows. There are three plan names, as stored in users.plan and
// shown to clients: `free`, and the paid `monthly` and `yearly`, which differ only in how they
// are billed (two Stripe prices) and so share one set of limits. The limits are configuration
// (PARLEY_FREE_* and PARLEY_PAID_*, docs/configuration.md "Payments"), read once at start-up.
//
// Thread-safety: Plans is an immutable value after construction; const methods are safe from any
// thread. Nothing here blocks.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace parley::core {
struct Config;
}

namespace parley::billing {

inline constexpr std::string_view kPlanFree = "free";
inline constexpr std::string_view kPlanMonthly = "monthly";
inline constexpr std::string_view kPlanYearly = "yearly";

/// True for the plans a subscription pays for (monthly, yearly).
bool is_paid_plan(std::string_view plan) noexcept;
/// True for the three plan names above.
bool is_known_plan(std::string_view plan) noexcept;

struct PlanLimits {
  std::int64_t speech_seconds_per_day = 0;    ///< speech recognized (live and uploads), per UTC day
  std::int64_t translated_chars_per_day = 0;  ///< characters sent to translation, per UTC day
  bool cloud_engines = false;                 ///< OpenAI / ElevenLabs engines
  bool voice_cloning = false;                 ///< ElevenLabs voice clones
  std::int64_t max_room_members = 0;          ///< members of a room the user owns
};

/// Built-in defaults (the PARLEY_FREE_* / PARLEY_PAID_* defaults).
PlanLimits default_free_limits();
PlanLimits default_paid_limits();

struct Plans {
  PlanLimits free = default_free_limits();
  PlanLimits paid = default_paid_limits();
  std::string price_monthly;  ///< Stripe price id of `monthly` (STRIPE_PRICE_MONTHLY); may be empty
  std::string price_yearly;   ///< Stripe price id of `yearly` (STRIPE_PRICE_YEARLY); may be empty

  /// The limits of `plan`: `paid` for monthly and yearly, `free` for anything else (an unknown
  /// name, e.g. from a newer version's row, never grants more than free).
  const PlanLimits& limits(std::string_view plan) const noexcept;
  /// "monthly" or "yearly" for their configured price id; nullopt for any other id (an empty id
  /// never matches).
  std::optional<std::string> plan_of_price(std::string_view price_id) const;
  /// The configured price id of a paid plan; nullopt for `free`, an unknown plan or an unset
  /// price.
  std::optional<std::string> price_of_plan(std::string_view plan) const;
};

/// The plans from the configuration (limits and price ids). Speech minutes become seconds.
Plans plans_from_config(const core::Config& config);

}  // namespace parley::billing
