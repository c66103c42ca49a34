#include "core/rate_limiter.hpp"

#include <gtest/gtest.h>

namespace parley::core {
namespace {

class ManualClock final : public Clock {
 public:
  std::int64_t now_ms() const override { return now; }
  std::int64_t now = 1'700'000'000'000;
};

TEST(RateLimiter, AllowsTheBurstThenRefusesWithRetryAfter) {
  ManualClock clock;
  InMemoryRateLimiter limiter(clock);
  const RateLimit ten_per_15_minutes{10, std::chrono::minutes(15), 10};
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(limiter.acquire("k", ten_per_15_minutes).allowed) << i;
  auto eleventh = limiter.acquire("k", ten_per_15_minutes);
  EXPECT_FALSE(eleventh.allowed);
  EXPECT_EQ(eleventh.retry_after, std::chrono::milliseconds(90'000));
  // Other keys are independent.
  EXPECT_TRUE(limiter.acquire("other", ten_per_15_minutes).allowed);
  // After one emission interval exactly one more is allowed.
  clock.now += 90'000;
  EXPECT_TRUE(limiter.acquire("k", ten_per_15_minutes).allowed);
  EXPECT_FALSE(limiter.acquire("k", ten_per_15_minutes).allowed);
}

TEST(RateLimiter, PeekCountsNothingAndResetForgets) {
  ManualClock clock;
  InMemoryRateLimiter limiter(clock);
  const RateLimit two{2, std::chrono::seconds(60), 2};
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.peek("k", two).allowed);
  limiter.acquire("k", two);
  limiter.acquire("k", two);
  EXPECT_FALSE(limiter.peek("k", two).allowed);
  limiter.reset("k");
  EXPECT_TRUE(limiter.peek("k", two).allowed);
}

TEST(RateLimiter, MemoryStaysBounded) {
  ManualClock clock;
  InMemoryRateLimiter limiter(clock, 100);
  const RateLimit one{1, std::chrono::hours(1), 1};
  for (int i = 0; i < 1000; ++i) limiter.acquire("key" + std::to_string(i), one);
  // The newest key is still limited (it was not evicted).
  EXPECT_FALSE(limiter.acquire("key999", one).allowed);
}

}  // namespace
}  // namespace parley::core
