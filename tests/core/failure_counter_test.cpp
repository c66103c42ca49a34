#include "core/failure_counter.hpp"

#include <gtest/gtest.h>

namespace parley::core {
namespace {

class ManualClock final : public Clock {
 public:
  std::int64_t now_ms() const override { return now; }
  std::int64_t now = 1'000'000;
};

TEST(FailureCounter, TheEleventhFailureInTheWindowIsRefusedUntilTheFirstAgesOut) {
  ManualClock clock;
  FailureCounter counter(clock, 10, std::chrono::minutes(15));
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(counter.reserve("k").allowed) << i;
    clock.now += 60'000;  // one a minute
  }
  auto refused = counter.reserve("k");
  EXPECT_FALSE(refused.allowed);
  // The first failure was 10 minutes ago: it leaves the window in 5 minutes.
  EXPECT_EQ(refused.retry_after, std::chrono::minutes(5));
  clock.now += 4 * 60'000;
  EXPECT_FALSE(counter.reserve("k").allowed) << "no leak before the window moves";
  clock.now += 60'000;
  EXPECT_TRUE(counter.reserve("k").allowed);
}

TEST(FailureCounter, ReleaseGivesTheSlotBackAndResetForgets) {
  ManualClock clock;
  FailureCounter counter(clock, 2, std::chrono::minutes(1));
  EXPECT_TRUE(counter.reserve("k").allowed);
  EXPECT_TRUE(counter.reserve("k").allowed);
  EXPECT_FALSE(counter.reserve("k").allowed);
  counter.release("k");
  EXPECT_TRUE(counter.reserve("k").allowed);
  counter.reset("k");
  EXPECT_TRUE(counter.reserve("k").allowed);
  EXPECT_TRUE(counter.reserve("other").allowed);
}

}  // namespace
}  // namespace parley::core
