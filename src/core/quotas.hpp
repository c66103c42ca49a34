#pragma once
// What a user's plan allows, as the features that spend it see it (speech, translation, voice
// references, rooms). The billing module implements it from the user's subscription; without
// payments configured everything is allowed (UnlimitedQuotas). The interface lives here so that
// the features need not know about billing.
//
// Thread-safety: implementations are thread-safe. Methods BLOCK (the database): call them on
// workers or on the features' own threads, never on network threads.

#include <cstdint>
#include <string_view>

#include "core/error.hpp"

namespace parley::core {

/// What is counted per user per UTC day.
enum class Metered { speech_seconds, translated_chars };
/// What a plan includes or not.
enum class Entitlement { cloud_engines, voice_cloning };

std::string_view to_string(Metered metered) noexcept;
std::string_view to_string(Entitlement entitlement) noexcept;

class Quotas {
 public:
  virtual ~Quotas() = default;
  /// Counts `amount` against the user's daily limit. Errc::quota_exceeded (HTTP 402) when it
  /// would go past it, with a message naming the limit and retry_after until it resets; nothing
  /// is counted then.
  virtual Result<void> consume(std::int64_t user_id, Metered metered, std::int64_t amount) = 0;
  /// Errc::quota_exceeded when the user already used their whole daily limit (before starting
  /// work whose size is not known yet, such as a live stream).
  virtual Result<void> check(std::int64_t user_id, Metered metered) = 0;
  /// Counts the rest of today's allowance as used: work that went past the limit (an utterance
  /// longer than what was left) closes the day, so that it cannot be started again and again.
  virtual void use_up(std::int64_t user_id, Metered metered) noexcept = 0;
  /// Gives back what was consumed for work that did not happen (an engine failure).
  virtual void refund(std::int64_t user_id, Metered metered, std::int64_t amount) noexcept = 0;
  /// Errc::quota_exceeded when the user's plan does not include `entitlement`.
  virtual Result<void> require(std::int64_t user_id, Entitlement entitlement) = 0;
  /// How many members a room owned by `owner_id` may have.
  virtual Result<std::int64_t> room_member_limit(std::int64_t owner_id) = 0;
};

/// Everything allowed: payments are not configured.
class UnlimitedQuotas final : public Quotas {
 public:
  Result<void> consume(std::int64_t, Metered, std::int64_t) override { return {}; }
  Result<void> check(std::int64_t, Metered) override { return {}; }
  void refund(std::int64_t, Metered, std::int64_t) noexcept override {}
  void use_up(std::int64_t, Metered) noexcept override {}
  Result<void> require(std::int64_t, Entitlement) override { return {}; }
  Result<std::int64_t> room_member_limit(std::int64_t) override { return INT64_MAX; }
};

}  // namespace parley::core
