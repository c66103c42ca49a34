#pragma once
// Time is injected (Envoy's TimeSource habit) so that expiry, rate limits and retention can be
// tested without sleeping.

#include <chrono>
#include <cstdint>

namespace parley::core {

class Clock {
 public:
  virtual ~Clock() = default;
  /// Wall-clock time in Unix milliseconds (what the database stores). Thread-safe.
  virtual std::int64_t now_ms() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::int64_t now_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace parley::core
