#pragma once
// "At most N failures per key within a sliding window": the exact rule the login throttle needs
// (the 11th failure in 15 minutes is refused, never the 11th-and-a-half), which a token bucket
// only approximates. Each key keeps at most N timestamps, so memory per key is bounded.

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.hpp"
#include "core/rate_limiter.hpp"

namespace parley::core {

class FailureCounter {
 public:
  FailureCounter(const Clock& clock, std::size_t max_failures, std::chrono::milliseconds window,
                 std::size_t max_keys = 100'000)
      : clock_(clock), max_failures_(max_failures), window_(window), max_keys_(max_keys) {}

  /// Reserves one failure for `key` before the check it guards, so that concurrent attempts
  /// cannot all slip through one free slot. Refused (with the wait) when the window is full.
  /// Thread-safe.
  RateDecision reserve(std::string_view key);
  /// The guarded check succeeded: the reservation was not a failure after all.
  void release(std::string_view key);
  /// Forgets the key (after a successful sign-in).
  void reset(std::string_view key);

 private:
  void prune(std::deque<std::int64_t>& times, std::int64_t now) const;

  const Clock& clock_;
  std::size_t max_failures_;
  std::chrono::milliseconds window_;
  std::size_t max_keys_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::deque<std::int64_t>> failures_;
};

}  // namespace parley::core
