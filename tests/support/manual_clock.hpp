#pragma once
// A clock the test moves by hand.

#include <atomic>
#include <chrono>
#include <cstdint>

#include "core/clock.hpp"

namespace parley::testing {

class ManualClock final : public core::Clock {
 public:
  explicit ManualClock(std::int64_t start_ms = 1'700'000'000'000) : now_(start_ms) {}
  std::int64_t now_ms() const override { return now_.load(); }
  void advance(std::chrono::milliseconds by) { now_ += by.count(); }
  void set(std::int64_t ms) { now_ = ms; }

 private:
  std::atomic<std::int64_t> now_;
};

}  // namespace parley::testing
