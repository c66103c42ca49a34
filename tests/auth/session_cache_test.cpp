// SessionCache alone: what it trusts, for how long, and that a read older than a revocation
// cannot bring a session back.

#include "auth/session_cache.hpp"

#include <gtest/gtest.h>

#include "support/manual_clock.hpp"

namespace parley::auth {
namespace {

using namespace std::chrono_literals;
using parley::testing::ManualClock;

TEST(SessionCache, TrustsAnActiveSessionForTheTtlOnlyAndOnlyForItsUser) {
  ManualClock clock;
  SessionCache cache(clock, 5s);
  EXPECT_FALSE(cache.active("s1", 7)) << "unknown";
  cache.remember("s1", 7, clock.now_ms() + 60'000, cache.generation());
  EXPECT_TRUE(cache.active("s1", 7));
  EXPECT_FALSE(cache.active("s1", 8)) << "another user's token naming this session";
  clock.advance(4999ms);
  EXPECT_TRUE(cache.active("s1", 7));
  clock.advance(1ms);
  EXPECT_FALSE(cache.active("s1", 7)) << "past the ttl the database is asked again";
}

TEST(SessionCache, NeverPastTheSessionsOwnEnd) {
  ManualClock clock;
  SessionCache cache(clock, 60s);
  cache.remember("s1", 7, clock.now_ms() + 1000, cache.generation());
  EXPECT_TRUE(cache.active("s1", 7));
  clock.advance(1s);
  EXPECT_FALSE(cache.active("s1", 7));
}

TEST(SessionCache, AReadOlderThanARevocationIsNotRemembered) {
  ManualClock clock;
  SessionCache cache(clock, 5s);
  const auto before = cache.generation();  // a worker starts reading "active"
  cache.forget("s1");                      // meanwhile the session is revoked
  cache.remember("s1", 7, clock.now_ms() + 60'000, before);
  EXPECT_FALSE(cache.active("s1", 7));
  cache.remember("s1", 7, clock.now_ms() + 60'000, cache.generation());
  EXPECT_TRUE(cache.active("s1", 7)) << "a read begun after the revocation counts";
}

TEST(SessionCache, ForgetsBySessionByUserAndEverything) {
  ManualClock clock;
  SessionCache cache(clock, 5s);
  const auto end = clock.now_ms() + 60'000;
  cache.remember("a", 1, end, cache.generation());
  cache.remember("b", 1, end, cache.generation());
  cache.remember("c", 2, end, cache.generation());
  cache.forget("a");
  EXPECT_FALSE(cache.active("a", 1));
  EXPECT_TRUE(cache.active("b", 1));
  cache.forget_user(1);
  EXPECT_FALSE(cache.active("b", 1));
  EXPECT_TRUE(cache.active("c", 2));
  cache.forget_all();
  EXPECT_FALSE(cache.active("c", 2));
}

TEST(SessionCache, AnnouncementsFromOtherProcessesApply) {
  ManualClock clock;
  SessionCache cache(clock, 5s);
  const auto end = clock.now_ms() + 60'000;
  cache.remember("a", 1, end, cache.generation());
  cache.remember("b", 2, end, cache.generation());
  cache.remember("c", 3, end, cache.generation());
  EXPECT_TRUE(cache.apply(SessionCache::forget_message("a")));
  EXPECT_FALSE(cache.active("a", 1));
  EXPECT_TRUE(cache.apply(SessionCache::forget_user_message(2)));
  EXPECT_FALSE(cache.active("b", 2));
  EXPECT_TRUE(cache.active("c", 3));
  EXPECT_FALSE(cache.apply("user 12x")) << "malformed: ignored";
  EXPECT_FALSE(cache.apply("something else"));
  EXPECT_TRUE(cache.active("c", 3));
  EXPECT_TRUE(cache.apply(SessionCache::forget_all_message()));
  EXPECT_FALSE(cache.active("c", 3));
}

TEST(SessionCache, StaysWithinItsCapacity) {
  ManualClock clock;
  SessionCache cache(clock, 5s, 3);
  const auto end = clock.now_ms() + 60'000;
  cache.remember("a", 1, end, cache.generation());
  cache.remember("b", 1, end, cache.generation());
  clock.advance(6s);  // a and b are stale now
  cache.remember("c", 1, end, cache.generation());
  cache.remember("d", 1, end, cache.generation());  // full: the stale ones go first
  EXPECT_TRUE(cache.active("c", 1));
  EXPECT_TRUE(cache.active("d", 1));
  cache.remember("e", 1, end, cache.generation());
  cache.remember("f", 1, end, cache.generation());  // full of fresh ones: starts over
  EXPECT_TRUE(cache.active("f", 1));
  EXPECT_FALSE(cache.active("c", 1));
}

TEST(SessionCache, AZeroTtlTurnsItOff) {
  ManualClock clock;
  SessionCache cache(clock, 0s);
  EXPECT_FALSE(cache.enabled());
  cache.remember("a", 1, clock.now_ms() + 60'000, cache.generation());
  EXPECT_FALSE(cache.active("a", 1));
}

}  // namespace
}  // namespace parley::auth
