#pragma once
// Rate limits with GCRA (the generic cell rate algorithm, as in redis-cell): each key keeps one
// "theoretical arrival time", so a limit costs one number per key whatever its size.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.hpp"

namespace parley::core {

/// `count` events per `period`, of which up to `burst` may come at once (burst <= count is
/// typical; burst == count allows the whole allowance immediately).
struct RateLimit {
  std::uint32_t count = 1;
  std::chrono::milliseconds period{1000};
  std::uint32_t burst = 1;
};

struct RateDecision {
  bool allowed = true;
  /// When refused: how long until one more event would be allowed (for Retry-After).
  std::chrono::milliseconds retry_after{0};
};

/// Thread-safe. Implementations: in-process (below); a Redis one shares limits between
/// processes (scale-out).
class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  /// Counts one event for `key` if the limit allows it.
  virtual RateDecision acquire(std::string_view key, const RateLimit& limit) = 0;
  /// Would one more event be allowed now? Counts nothing.
  virtual RateDecision peek(std::string_view key, const RateLimit& limit) = 0;
  /// Forgets the key (for example after a successful login).
  virtual void reset(std::string_view key) = 0;
};

class InMemoryRateLimiter final : public RateLimiter {
 public:
  /// `max_keys` bounds memory: when reached, keys whose allowance is full again are dropped.
  explicit InMemoryRateLimiter(const Clock& clock, std::size_t max_keys = 100'000)
      : clock_(clock), max_keys_(max_keys) {}

  RateDecision acquire(std::string_view key, const RateLimit& limit) override;
  RateDecision peek(std::string_view key, const RateLimit& limit) override;
  void reset(std::string_view key) override;

 private:
  RateDecision decide(std::string_view key, const RateLimit& limit, bool consume);
  void evict_idle(std::int64_t now_ms);

  const Clock& clock_;
  std::size_t max_keys_;
  std::mutex mutex_;
  // key -> theoretical arrival time in ms (and the emission interval that produced it, so an
  // idle key can be recognised without knowing its limit).
  struct State {
    std::int64_t tat_ms;
  };
  std::unordered_map<std::string, State> states_;
};

}  // namespace parley::core
