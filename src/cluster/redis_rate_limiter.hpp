#pragma once
// Rate limits shared by every process: the same GCRA as core::InMemoryRateLimiter, evaluated
// atomically inside Redis (one Lua script, Redis's clock), so that a client spreading its
// attempts over several processes meets one limit. When Redis cannot be reached the process
// falls back to its own in-memory limiter (limits then hold per process) and says so in the log.

#include <mutex>
#include <optional>

#include "cluster/redis_connection.hpp"
#include "core/log.hpp"
#include "core/rate_limiter.hpp"

namespace parley::cluster {

class RedisRateLimiter final : public core::RateLimiter {
 public:
  RedisRateLimiter(RedisEndpoint endpoint, std::chrono::milliseconds timeout,
                   const core::Clock& clock, core::Logger& log, std::string key_prefix = "parley:");

  core::RateDecision acquire(std::string_view key, const core::RateLimit& limit) override;
  core::RateDecision peek(std::string_view key, const core::RateLimit& limit) override;
  void reset(std::string_view key) override;

 private:
  /// The decision from Redis, or nullopt when Redis is away (the caller falls back).
  std::optional<core::RateDecision> decide(std::string_view key, const core::RateLimit& limit,
                                           bool consume);
  /// A usable connection (opened when needed, not retried more than once a second).
  RedisConnection* connection(std::int64_t now_ms);
  void broke(std::int64_t now_ms, const Error& error);

  const RedisEndpoint endpoint_;
  const std::chrono::milliseconds timeout_;
  const core::Clock& clock_;
  core::Logger& log_;
  const std::string prefix_;
  core::InMemoryRateLimiter fallback_;
  std::mutex mutex_;
  std::optional<RedisConnection> connection_;
  std::int64_t retry_at_ = 0;
  bool degraded_ = false;
};

}  // namespace parley::cluster
