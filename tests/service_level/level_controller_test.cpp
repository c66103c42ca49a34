#include <gtest/gtest.h>

#include "service_level/service_level.hpp"

namespace parley::service_level {
namespace {

using namespace std::chrono_literals;
using Clock = LevelController::Clock;

ControllerOptions options() {
  ControllerOptions o;
  o.degrade_after = 2s;
  o.recover_after = 5s;
  o.calm_below = 0.5;
  return o;
}

TEST(LevelController, StepsDownOneLevelPerPeriodOfOverloadAndNoFurtherThanOriginalText) {
  LevelController controller(options());
  const auto t0 = Clock::time_point{} + 1h;
  const Reading hot{1.8, "caption_lag"};
  EXPECT_FALSE(controller.update(t0, hot));
  EXPECT_TRUE(controller.overloaded());
  EXPECT_FALSE(controller.update(t0 + 1900ms, hot));  // not yet a full period
  auto first = controller.update(t0 + 2s, hot);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->from, Level::full);
  EXPECT_EQ(first->to, Level::neutral_voice);
  EXPECT_EQ(first->reason, "caption_lag");
  EXPECT_EQ(controller.changed_at(), t0 + 2s);
  // The next step needs another full period of overload judged at the new level.
  EXPECT_FALSE(controller.update(t0 + 3s, hot));
  EXPECT_FALSE(controller.update(t0 + 4s, hot));
  auto second = controller.update(t0 + 5s, hot);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->to, Level::captions);
  EXPECT_FALSE(controller.update(t0 + 6s, hot));
  ASSERT_TRUE(controller.update(t0 + 8s, hot));
  EXPECT_EQ(controller.level(), Level::original_text);
  EXPECT_FALSE(controller.update(t0 + 60s, hot));  // the lowest level: nothing more to shed
  EXPECT_EQ(controller.level(), Level::original_text);
}

TEST(LevelController, RecoversOneStepPerCalmPeriodAndHoldsInBetween) {
  LevelController controller(options());
  auto t = Clock::time_point{} + 1h;
  const Reading hot{1.2, "synthesis_backlog"};
  for (int i = 0; i < 3; ++i) {
    controller.update(t, hot);
    t += 2s;
    ASSERT_TRUE(controller.update(t, hot));
  }
  ASSERT_EQ(controller.level(), Level::original_text);

  // Between calm and overloaded: hold, however long.
  const Reading warm{0.9, "caption_lag"};
  for (int i = 0; i < 20; ++i) {
    t += 1s;
    EXPECT_FALSE(controller.update(t, warm));
  }
  EXPECT_FALSE(controller.overloaded());
  EXPECT_EQ(controller.level(), Level::original_text);

  const Reading calm{0.1, "caption_lag"};
  EXPECT_FALSE(controller.update(t, calm));
  EXPECT_FALSE(controller.update(t + 4s, calm));
  auto up = controller.update(t + 5s, calm);
  ASSERT_TRUE(up);
  EXPECT_EQ(up->from, Level::original_text);
  EXPECT_EQ(up->to, Level::captions);
  EXPECT_EQ(up->reason, "recovered");
  // A warm reading resets the calm period: the next step waits a full period again.
  EXPECT_FALSE(controller.update(t + 7s, warm));
  EXPECT_FALSE(controller.update(t + 8s, calm));
  EXPECT_FALSE(controller.update(t + 12s, calm));
  ASSERT_TRUE(controller.update(t + 13s, calm));
  EXPECT_EQ(controller.level(), Level::neutral_voice);
  ASSERT_TRUE(controller.update(t + 18s, calm));
  EXPECT_EQ(controller.level(), Level::full);
  EXPECT_FALSE(controller.update(t + 60s, calm));  // full: nothing to recover
}

TEST(LevelController, AnOverloadBlipShorterThanThePeriodChangesNothing) {
  LevelController controller(options());
  auto t = Clock::time_point{} + 1h;
  for (int i = 0; i < 10; ++i) {
    EXPECT_FALSE(controller.update(t, Reading{3.0, "caption_lag"}));
    EXPECT_FALSE(controller.update(t + 1s, Reading{0.2, "caption_lag"}));
    t += 1500ms;
  }
  EXPECT_EQ(controller.level(), Level::full);
}

TEST(LevelController, AnUnknownReadingHoldsEverythingButTheClock) {
  LevelController controller(options());
  const auto t0 = Clock::time_point{} + 1h;
  ASSERT_FALSE(controller.update(t0, Reading{2.0, "caption_lag"}));
  ASSERT_TRUE(controller.overloaded());
  // Too few captions to judge: still overloaded (new streams stay refused), nothing changes.
  EXPECT_FALSE(controller.update(t0 + 1s, Reading{0.0, "caption_lag", false}));
  EXPECT_TRUE(controller.overloaded());
  EXPECT_EQ(controller.level(), Level::full);
  // The overload period kept counting: the next known reading over capacity steps down.
  auto change = controller.update(t0 + 2500ms, Reading{2.0, "caption_lag"});
  ASSERT_TRUE(change);
  EXPECT_EQ(change->to, Level::neutral_voice);
  // Unknown for a whole period: the old verdict no longer refuses streams.
  EXPECT_FALSE(controller.update(t0 + 3s, Reading{0.0, "caption_lag", false}));
  EXPECT_TRUE(controller.overloaded());
  EXPECT_FALSE(controller.update(t0 + 5s, Reading{0.0, "caption_lag", false}));
  EXPECT_FALSE(controller.overloaded());
  EXPECT_EQ(controller.level(), Level::neutral_voice);
}

TEST(LevelController, NamesTheLevelsAsEventsShowThem) {
  EXPECT_EQ(to_string(Level::full), "full");
  EXPECT_EQ(to_string(Level::neutral_voice), "neutral_voice");
  EXPECT_EQ(to_string(Level::captions), "captions");
  EXPECT_EQ(to_string(Level::original_text), "original_text");
}

}  // namespace
}  // namespace parley::service_level
