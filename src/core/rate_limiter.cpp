#include "core/rate_limiter.hpp"

#include <algorithm>

namespace parley::core {

RateDecision InMemoryRateLimiter::acquire(std::string_view key, const RateLimit& limit) {
  return decide(key, limit, true);
}

RateDecision InMemoryRateLimiter::peek(std::string_view key, const RateLimit& limit) {
  return decide(key, limit, false);
}

void InMemoryRateLimiter::reset(std::string_view key) {
  std::lock_guard lock(mutex_);
  states_.erase(std::string(key));
}

RateDecision InMemoryRateLimiter::decide(std::string_view key, const RateLimit& limit,
                                         bool consume) {
  const std::int64_t now = clock_.now_ms();
  const std::int64_t interval =
      std::max<std::int64_t>(1, limit.period.count() / std::max<std::uint32_t>(1, limit.count));
  const std::int64_t tolerance =
      interval * static_cast<std::int64_t>(std::max<std::uint32_t>(1, limit.burst) - 1);

  std::lock_guard lock(mutex_);
  auto it = states_.find(std::string(key));
  const std::int64_t tat = it == states_.end() ? now : std::max(it->second.tat_ms, now);
  const std::int64_t new_tat = tat + interval;
  const std::int64_t allow_at = new_tat - interval - tolerance;
  if (now < allow_at) {
    return {false, std::chrono::milliseconds(allow_at - now)};
  }
  if (consume) {
    if (it == states_.end()) {
      if (states_.size() >= max_keys_) evict_idle(now);
      states_.emplace(std::string(key), State{new_tat});
    } else {
      it->second.tat_ms = new_tat;
    }
  }
  return {true, std::chrono::milliseconds(0)};
}

void InMemoryRateLimiter::evict_idle(std::int64_t now_ms) {
  // A key whose arrival time has passed has its full allowance back: forgetting it changes
  // nothing. If every key is busy, the oldest half goes (memory stays bounded under attack).
  std::erase_if(states_, [now_ms](const auto& entry) { return entry.second.tat_ms <= now_ms; });
  if (states_.size() >= max_keys_) {
    std::size_t n = 0;
    std::erase_if(states_, [&n, this](const auto&) { return n++ < max_keys_ / 2; });
  }
}

}  // namespace parley::core
