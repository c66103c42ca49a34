// Limits shared by processes through Redis, and the fall-back to this process's own limits
// when Redis is away.
#include "cluster/redis_rate_limiter.hpp"

#include <gtest/gtest.h>

#include "redis_server.hpp"

namespace parley::cluster {
namespace {

using namespace std::chrono_literals;

class NullSink final : public core::LogSink {
 public:
  void write_line(std::string_view line) override { lines.emplace_back(line); }
  std::vector<std::string> lines;
};

TEST(RedisRateLimiter, TwoProcessesMeetOneLimit) {
  testing::RedisServer server;
  NullSink sink;
  core::Logger log(sink, core::LogLevel::debug);
  core::SystemClock clock;
  const auto endpoint = *parse_redis_url(server.url());
  RedisRateLimiter first(endpoint, 500ms, clock, log);
  RedisRateLimiter second(endpoint, 500ms, clock, log);
  const core::RateLimit limit{10, std::chrono::minutes(1), 4};
  int allowed = 0;
  for (int i = 0; i < 8; ++i) {
    auto& limiter = i % 2 == 0 ? first : second;
    if (limiter.acquire("login:203.0.113.9", limit).allowed) ++allowed;
  }
  EXPECT_EQ(allowed, 4) << "the burst is shared, not per process";
  const auto refused = second.peek("login:203.0.113.9", limit);
  EXPECT_FALSE(refused.allowed);
  EXPECT_GT(refused.retry_after.count(), 0);
  EXPECT_LE(refused.retry_after.count(), 6000);
  EXPECT_TRUE(first.acquire("login:198.51.100.7", limit).allowed) << "keys are separate";
  first.reset("login:203.0.113.9");
  EXPECT_TRUE(second.acquire("login:203.0.113.9", limit).allowed) << "reset is shared too";
}

TEST(RedisRateLimiter, FallsBackToLocalLimitsWhileRedisIsAwayAndSaysSo) {
  auto server = std::make_unique<testing::RedisServer>();
  NullSink sink;
  core::Logger log(sink, core::LogLevel::debug);
  core::SystemClock clock;
  RedisRateLimiter limiter(*parse_redis_url(server->url()), 200ms, clock, log);
  const core::RateLimit limit{60, std::chrono::minutes(1), 2};
  EXPECT_TRUE(limiter.acquire("k", limit).allowed);
  server->stop();
  // Still limited (locally), never unlimited and never an exception.
  int allowed = 0;
  for (int i = 0; i < 5; ++i) allowed += limiter.acquire("k", limit).allowed ? 1 : 0;
  EXPECT_EQ(allowed, 2);
  bool logged = false;
  for (const auto& line : sink.lines)
    logged |= line.find("rate_limits_local_only") != std::string::npos;
  EXPECT_TRUE(logged);
}

}  // namespace
}  // namespace parley::cluster
