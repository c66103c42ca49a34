#include "auth/session_cache.hpp"

#include <charconv>

namespace parley::auth {

namespace {
constexpr std::string_view kForgetSession = "session ";
constexpr std::string_view kForgetUser = "user ";
constexpr std::string_view kForgetAll = "all";
}  // namespace

SessionCache::SessionCache(const core::Clock& clock, std::chrono::milliseconds ttl,
                           std::size_t capacity)
    : clock_(clock), ttl_(ttl), capacity_(capacity) {}

bool SessionCache::active(const std::string& session_id, std::int64_t user_id) const {
  if (!enabled()) return false;
  const auto now = clock_.now_ms();
  std::lock_guard lock(mutex_);
  auto it = entries_.find(session_id);
  if (it == entries_.end()) return false;
  const Entry& entry = it->second;
  return entry.user_id == user_id && now < entry.expires_at_ms &&
         now - entry.checked_at_ms < ttl_.count() && now >= entry.checked_at_ms;
}

std::uint64_t SessionCache::generation() const {
  std::lock_guard lock(mutex_);
  return generation_;
}

void SessionCache::remember(const std::string& session_id, std::int64_t user_id,
                            std::int64_t expires_at_ms, std::uint64_t generation) {
  if (!enabled()) return;
  const auto now = clock_.now_ms();
  std::lock_guard lock(mutex_);
  // A session ended (here or as announced) after this read began: the read may predate it.
  if (generation != generation_) return;
  if (entries_.size() >= capacity_ && !entries_.contains(session_id)) {
    // Full: drop what is stale first; if everything is fresh, start over (the database
    // answers meanwhile, nothing is wrong, only slower).
    std::erase_if(entries_, [&](const auto& item) {
      return now - item.second.checked_at_ms >= ttl_.count() || now >= item.second.expires_at_ms;
    });
    if (entries_.size() >= capacity_) entries_.clear();
  }
  entries_[session_id] = Entry{user_id, expires_at_ms, now};
}

void SessionCache::forget(const std::string& session_id) {
  std::lock_guard lock(mutex_);
  ++generation_;
  entries_.erase(session_id);
}

void SessionCache::forget_user(std::int64_t user_id) {
  std::lock_guard lock(mutex_);
  ++generation_;
  std::erase_if(entries_, [user_id](const auto& item) { return item.second.user_id == user_id; });
}

void SessionCache::forget_all() {
  std::lock_guard lock(mutex_);
  ++generation_;
  entries_.clear();
}

std::string SessionCache::forget_message(const std::string& session_id) {
  return std::string(kForgetSession) + session_id;
}

std::string SessionCache::forget_user_message(std::int64_t user_id) {
  return std::string(kForgetUser) + std::to_string(user_id);
}

std::string SessionCache::forget_all_message() { return std::string(kForgetAll); }

bool SessionCache::apply(std::string_view message) {
  if (message.starts_with(kForgetSession)) {
    forget(std::string(message.substr(kForgetSession.size())));
    return true;
  }
  if (message.starts_with(kForgetUser)) {
    const auto digits = message.substr(kForgetUser.size());
    std::int64_t user_id = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), user_id);
    if (ec != std::errc() || end != digits.data() + digits.size()) return false;
    forget_user(user_id);
    return true;
  }
  if (message == kForgetAll) {
    forget_all();
    return true;
  }
  return false;
}

}  // namespace parley::auth
