// RequestBudget: requests AND tokens per sliding window, on a manual clock (sleeping advances
// it), then on the real clock from several threads.

#include "translate/openai/request_budget.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <thread>
#include <vector>

namespace parley::translate {
namespace {

using namespace std::chrono_literals;
using TimePoint = RequestBudget::TimePoint;

// A clock that only moves when someone sleeps on it; records every sleep.
struct ManualClock {
  std::mutex mutex;
  TimePoint now{};
  std::vector<std::chrono::milliseconds> sleeps;

  RequestBudget::NowFunction now_function() {
    return [this] {
      std::lock_guard lock(mutex);
      return now;
    };
  }
  RequestBudget::SleepFunction sleep_function() {
    return [this](std::chrono::milliseconds d) {
      std::lock_guard lock(mutex);
      sleeps.push_back(d);
      now += d;
    };
  }
  void advance(std::chrono::milliseconds d) {
    std::lock_guard lock(mutex);
    now += d;
  }
  TimePoint at(std::chrono::milliseconds offset) const { return TimePoint{} + offset; }
};

constexpr auto kFar = TimePoint::max();

TEST(RequestBudgetTest, NoLimitsAdmitEverythingAtOnce) {
  ManualClock clock;
  RequestBudget budget(BudgetLimits{}, clock.now_function(), clock.sleep_function());
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(budget.acquire(100'000, kFar));
  EXPECT_TRUE(clock.sleeps.empty());
  EXPECT_EQ(budget.wait_time(1), 0ms);
}

TEST(RequestBudgetTest, RequestsPerWindowBlockUntilTheOldestLeaves) {
  ManualClock clock;
  RequestBudget budget(BudgetLimits{3, 0, 60s}, clock.now_function(), clock.sleep_function());
  ASSERT_TRUE(budget.acquire(1, kFar));
  clock.advance(30s);
  ASSERT_TRUE(budget.acquire(1, kFar));
  clock.advance(10s);
  ASSERT_TRUE(budget.acquire(1, kFar));
  EXPECT_TRUE(clock.sleeps.empty());
  clock.advance(10s);  // t = 50 s: the window [-10 s, 50 s] holds three requests
  EXPECT_EQ(budget.wait_time(1), 10s);
  ASSERT_TRUE(budget.acquire(1, kFar));  // blocks until the first one (t = 0) leaves at 60 s
  EXPECT_EQ(clock.sleeps, (std::vector<std::chrono::milliseconds>{10s}));
  EXPECT_EQ(clock.now, clock.at(60s));
  // Next: the one from t = 30 s leaves at 90 s.
  EXPECT_EQ(budget.wait_time(1), 30s);
}

TEST(RequestBudgetTest, PastTheDeadlineIsRateLimitedAndCountsNothing) {
  ManualClock clock;
  RequestBudget budget(BudgetLimits{2, 0, 60s}, clock.now_function(), clock.sleep_function());
  ASSERT_TRUE(budget.acquire(1, kFar));
  ASSERT_TRUE(budget.acquire(1, kFar));
  clock.advance(15s);
  auto refused = budget.acquire(1, clock.at(15s + 44s));  // admission would be at 60 s
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::rate_limited);
  EXPECT_EQ(refused.error().retry_after, 45s);
  EXPECT_NE(refused.error().message.find("45 s"), std::string::npos) << refused.error().message;
  EXPECT_TRUE(clock.sleeps.empty()) << "no wait when the deadline cannot be met";
  // A deadline exactly at admission is met.
  ASSERT_TRUE(budget.acquire(1, clock.at(60s)));
  EXPECT_EQ(clock.now, clock.at(60s));
  // The refused request was not counted: at 60 s the first two left and only the one just
  // admitted is in the window, so one more is admitted at once.
  ASSERT_TRUE(budget.acquire(1, clock.now));
}

TEST(RequestBudgetTest, TokensPerWindowBlockUntilEnoughLeave) {
  ManualClock clock;
  RequestBudget budget(BudgetLimits{0, 100, 60s}, clock.now_function(), clock.sleep_function());
  ASSERT_TRUE(budget.acquire(60, kFar));
  clock.advance(10s);
  ASSERT_TRUE(budget.acquire(30, kFar));
  clock.advance(10s);
  EXPECT_EQ(budget.wait_time(10), 0ms);
  EXPECT_EQ(budget.wait_time(11), 40s);  // the 60 leave at 60 s
  EXPECT_EQ(budget.wait_time(80), 50s);  // both must leave: at 70 s
  ASSERT_TRUE(budget.acquire(80, kFar));
  EXPECT_EQ(clock.now, clock.at(70s));
}

TEST(RequestBudgetTest, BothLimitsApply) {
  ManualClock clock;
  RequestBudget budget(BudgetLimits{10, 100, 1s}, clock.now_function(), clock.sleep_function());
  ASSERT_TRUE(budget.acquire(100, kFar));
  EXPECT_EQ(budget.wait_time(1), 1s) << "tokens are used up although requests are not";
  ASSERT_TRUE(budget.acquire(1, kFar));
  for (int i = 0; i < 9; ++i) ASSERT_TRUE(budget.acquire(0, kFar));
  EXPECT_EQ(budget.wait_time(0), 1s) << "requests are used up although tokens are not";
}

TEST(RequestBudgetTest, OversizedRequestWaitsForAnEmptyWindowThenPasses) {
  ManualClock clock;
  RequestBudget budget(BudgetLimits{0, 100, 60s}, clock.now_function(), clock.sleep_function());
  ASSERT_TRUE(budget.acquire(500, kFar)) << "an empty window admits even an oversized request";
  EXPECT_EQ(budget.wait_time(1), 60s);
  ASSERT_TRUE(budget.acquire(500, kFar));
  EXPECT_EQ(clock.now, clock.at(60s));
}

TEST(RequestBudgetTest, CorrectionsRefundAndCharge) {
  ManualClock clock;
  RequestBudget budget(BudgetLimits{0, 100, 60s}, clock.now_function(), clock.sleep_function());
  ASSERT_TRUE(budget.acquire(80, kFar));
  EXPECT_GT(budget.wait_time(70), 0ms);
  budget.correct(80, 20);  // the reply said 20
  EXPECT_EQ(budget.wait_time(80), 0ms);
  EXPECT_GT(budget.wait_time(81), 0ms);

  budget.correct(10, 50);  // 40 more than estimated: charged now
  EXPECT_EQ(budget.wait_time(40), 0ms);
  EXPECT_GT(budget.wait_time(41), 0ms);
  clock.advance(60s);  // everything left the window
  EXPECT_EQ(budget.wait_time(100), 0ms);
  budget.correct(1000, 0);  // a refund with nothing in the window is harmless
  EXPECT_EQ(budget.wait_time(100), 0ms);
}

TEST(RequestBudgetTest, ConcurrentWorkersNeverExceedTheLimitInAnyWindow) {
  constexpr std::uint32_t kPerWindow = 5;
  constexpr auto kWindow = 300ms;
  RequestBudget budget(BudgetLimits{kPerWindow, 0, kWindow});
  std::mutex mutex;
  std::vector<TimePoint> admitted;
  std::vector<std::thread> workers;
  const auto started = std::chrono::steady_clock::now();
  for (int t = 0; t < 4; ++t) {
    workers.emplace_back([&] {
      for (int i = 0; i < 4; ++i) {
        ASSERT_TRUE(budget.acquire(1, std::chrono::steady_clock::now() + 10s));
        std::lock_guard lock(mutex);
        admitted.push_back(std::chrono::steady_clock::now());
      }
    });
  }
  for (auto& w : workers) w.join();
  ASSERT_EQ(admitted.size(), 16U);
  std::sort(admitted.begin(), admitted.end());
  // Admission is recorded just after acquire() returns: a few ms late at most, so windows a
  // little shorter than the limit's are checked.
  for (std::size_t i = 0; i + kPerWindow < admitted.size(); ++i) {
    EXPECT_GE(admitted[i + kPerWindow] - admitted[i], kWindow - 20ms) << i;
  }
  // 16 requests at 5 per window: the last is admitted after three windows.
  EXPECT_GE(std::chrono::steady_clock::now() - started, 3 * kWindow - 20ms);
}

}  // namespace
}  // namespace parley::translate
