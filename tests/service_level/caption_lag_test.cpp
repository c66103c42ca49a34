#include "service_level/caption_lag.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace parley::service_level {
namespace {

using namespace std::chrono_literals;
using Clock = CaptionLag::Clock;

TEST(CaptionLag, CountsEachListeningLanguageOnceFromTheEndOfSpeech) {
  CaptionLag lag;
  std::vector<std::pair<std::string, std::int64_t>> seen;
  lag.on_sample([&](const std::string& language, std::chrono::milliseconds value) {
    seen.emplace_back(language, value.count());
  });
  const auto ended = Clock::now() - 10s;
  lag.spoken(1, 7, ended);
  // English listeners read the original at once, Spanish ones wait for the translation, and
  // German has no listener's caption owed (nobody listens in it).
  lag.delivered(1, {"en", "es"}, {"en"}, ended + 800ms);
  lag.captioned(1, "es", ended + 2300ms);
  lag.captioned(1, "es", ended + 9s);  // a repeat (another process, a recovery): not counted
  lag.captioned(1, "de", ended + 3s);  // nobody listened in German
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], std::make_pair(std::string("en"), std::int64_t{800}));
  EXPECT_EQ(seen[1], std::make_pair(std::string("es"), std::int64_t{2300}));

  const auto room = lag.room(7);
  ASSERT_EQ(room.size(), 2u);
  EXPECT_EQ(room.at("en").p50_ms, 800);
  EXPECT_EQ(room.at("es").p95_ms, 2300);
  EXPECT_EQ(room.at("es").samples, 1u);
  EXPECT_TRUE(lag.room(8).empty());
}

TEST(CaptionLag, IgnoresMessagesThatWereNotSpokenAndSecondDeliveries) {
  CaptionLag lag;
  const auto now = Clock::now();
  lag.delivered(5, {"en"}, {"en"}, now);  // typed: never spoken()
  lag.captioned(5, "es", now);
  EXPECT_TRUE(lag.all().empty());
  lag.spoken(6, 1, now - 1s);
  lag.delivered(6, {"en", "fr"}, {"en"}, now);
  lag.delivered(6, {"en", "fr"}, {"en", "fr"}, now + 5s);  // a correction's re-delivery
  EXPECT_EQ(lag.room(1).at("en").samples, 1u);
  EXPECT_EQ(lag.room(1).count("fr"), 0u);
}

TEST(CaptionLag, AudioFasterThanRealTimeHasNoNegativeLag) {
  CaptionLag lag;
  const auto now = Clock::now();
  lag.spoken(1, 1, now + 3s);
  lag.delivered(1, {"en"}, {"en"}, now);
  EXPECT_EQ(lag.room(1).at("en").p95_ms, 0);
}

TEST(CaptionLag, PercentilesUseNearestRankAndSinceJudgesOnlySpeechAfterAChange) {
  CaptionLag lag;
  const auto base = Clock::now() - 60s;
  for (int i = 1; i <= 20; ++i) {
    const auto ended = base + std::chrono::seconds(i);
    lag.spoken(i, 3, ended);
    lag.delivered(i, {"en"}, {"en"}, ended + std::chrono::milliseconds(100 * i));
  }
  const auto summary = lag.room(3).at("en");
  EXPECT_EQ(summary.samples, 20u);
  EXPECT_EQ(summary.p50_ms, 1000);  // the 10th of 20
  EXPECT_EQ(summary.p95_ms, 1900);  // the 19th of 20
  // Only the speech that ended after base + 15 s: lags 1500..2000.
  const auto recent = lag.since(base + 15s, 1h);
  EXPECT_EQ(recent.samples, 6u);
  EXPECT_EQ(recent.p95_ms, 2000);
  EXPECT_EQ(lag.since(Clock::now() + 1h, 1h).samples, 0u);
  // Delivered within the last 40 s (from base + 19 s): the captions of the speech that ended
  // at base + 18 s and later (delivered at base + 19.8 s and later).
  EXPECT_EQ(lag.since(base, 40s, base + 59s).samples, 3u);
  const auto rooms = lag.all();
  ASSERT_EQ(rooms.size(), 1u);
  EXPECT_EQ(rooms[0].room_id, 3);
  EXPECT_EQ(rooms[0].language, "en");
}

TEST(CaptionLag, ACaptionStillOwedCountsAsLateAsItIsNow) {
  CaptionLag lag;
  const auto now = Clock::now();
  lag.spoken(1, 1, now - 9s);
  lag.delivered(1, {"en", "es"}, {"en"}, now - 8s);  // English at 1 s; Spanish still owed
  lag.spoken(2, 1, now - 1s);
  lag.delivered(2, {"en", "es"}, {"en"}, now - 500ms);  // owed for 1 s only
  const auto judged = lag.since(now - 1h, 1h, now, 5s);
  EXPECT_EQ(judged.samples, 3u);  // two English captions, one Spanish owed for 9 s
  EXPECT_EQ(judged.p95_ms, 9000);
  EXPECT_EQ(lag.since(now - 1h, 1h, now).samples, 2u);      // without owed_after: delivered only
  EXPECT_EQ(lag.since(now - 5s, 1h, now, 5s).samples, 1u);  // message 1 ended before `since`
}

TEST(CaptionLag, ForgetsSamplesOutsideTheWindowAndBoundsWhatWaits) {
  CaptionLagOptions options;
  options.window = 30s;
  options.max_waiting = 2;
  CaptionLag lag(options);
  const auto now = Clock::now();
  lag.spoken(1, 1, now - 50s);
  lag.delivered(1, {"en"}, {"en"}, now - 45s);  // older than the window
  EXPECT_TRUE(lag.room(1).empty());
  // Three spoken messages wait for Spanish; only the two newest are remembered.
  for (std::int64_t id = 10; id < 13; ++id) {
    lag.spoken(id, 2, now);
    lag.delivered(id, {"es"}, {}, now);
  }
  for (std::int64_t id = 10; id < 13; ++id) lag.captioned(id, "es", now + 1s);
  EXPECT_EQ(lag.room(2).at("es").samples, 2u);
}

}  // namespace
}  // namespace parley::service_level
