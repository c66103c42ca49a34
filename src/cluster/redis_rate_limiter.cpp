#include "cluster/redis_rate_limiter.hpp"

namespace parley::cluster {

namespace {

// KEYS[1]: the key. ARGV: emission interval (ms), tolerance (ms), consume (0/1).
// Returns 0 when allowed, else the milliseconds until one more event would be.
constexpr std::string_view kGcra = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - interval - tolerance
if now < allow_at then return allow_at - now end
if ARGV[3] == '1' then
  redis.call('SET', KEYS[1], new_tat, 'PX', new_tat - now + 1000)
end
return 0
)lua";

constexpr std::int64_t kRetryGapMs = 1000;

}  // namespace

RedisRateLimiter::RedisRateLimiter(RedisEndpoint endpoint, std::chrono::milliseconds timeout,
                                   const core::Clock& clock, core::Logger& log,
                                   std::string key_prefix)
    : endpoint_(std::move(endpoint)),
      timeout_(timeout),
      clock_(clock),
      log_(log),
      prefix_(std::move(key_prefix) + "rate:"),
      fallback_(clock) {}

RedisConnection* RedisRateLimiter::connection(std::int64_t now_ms) {
  if (connection_) return &*connection_;
  if (now_ms < retry_at_) return nullptr;
  auto opened = RedisConnection::open(endpoint_, timeout_);
  if (!opened) {
    broke(now_ms, opened.error());
    return nullptr;
  }
  connection_ = std::move(*opened);
  if (degraded_) {
    degraded_ = false;
    log_.info("rate_limits_shared_again", {});
  }
  return &*connection_;
}

void RedisRateLimiter::broke(std::int64_t now_ms, const Error& error) {
  connection_.reset();
  retry_at_ = now_ms + kRetryGapMs;
  if (!degraded_) {
    degraded_ = true;
    log_.error("rate_limits_local_only", {{"error", error.message}});
  }
}

std::optional<core::RateDecision> RedisRateLimiter::decide(std::string_view key,
                                                           const core::RateLimit& limit,
                                                           bool consume) {
  const std::int64_t interval =
      std::max<std::int64_t>(1, limit.period.count() / std::max<std::uint32_t>(1, limit.count));
  const std::int64_t tolerance =
      interval * static_cast<std::int64_t>(std::max<std::uint32_t>(1, limit.burst) - 1);
  const std::string full_key = prefix_ + std::string(key);
  const std::string interval_text = std::to_string(interval);
  const std::string tolerance_text = std::to_string(tolerance);
  std::lock_guard lock(mutex_);
  const auto now = clock_.now_ms();
  auto* redis = connection(now);
  if (redis == nullptr) return std::nullopt;
  auto reply = redis->command(
      {"EVAL", kGcra, "1", full_key, interval_text, tolerance_text, consume ? "1" : "0"});
  if (!reply || reply->type != RedisReply::Type::integer) {
    broke(now, reply ? Error(Errc::unavailable, "redis: " + reply->text) : reply.error());
    return std::nullopt;
  }
  if (reply->integer == 0) return core::RateDecision{true, std::chrono::milliseconds(0)};
  return core::RateDecision{false, std::chrono::milliseconds(reply->integer)};
}

core::RateDecision RedisRateLimiter::acquire(std::string_view key, const core::RateLimit& limit) {
  if (auto decision = decide(key, limit, true)) return *decision;
  return fallback_.acquire(key, limit);
}

core::RateDecision RedisRateLimiter::peek(std::string_view key, const core::RateLimit& limit) {
  if (auto decision = decide(key, limit, false)) return *decision;
  return fallback_.peek(key, limit);
}

void RedisRateLimiter::reset(std::string_view key) {
  fallback_.reset(key);
  std::lock_guard lock(mutex_);
  const auto now = clock_.now_ms();
  auto* redis = connection(now);
  if (redis == nullptr) return;
  if (auto reply = redis->command({"DEL", prefix_ + std::string(key)}); !reply) {
    broke(now, reply.error());
  }
}

}  // namespace parley::cluster
