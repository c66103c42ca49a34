#pragma once
// Sign-in sessions recently found active, so that checking an access token need not ask the
// database every time (each Socket.IO CONNECT and each authenticated request checks that the
// token's session is still active). In memory, bounded, thread-safe, never blocks.
//
// What it may cost: an entry is trusted for at most `ttl` after the database said "active". A
// session ended through this process is forgotten the moment its end is committed, and with
// several processes the others are told through the cluster bus (SessionStore publishes, the
// app subscribes); `ttl` bounds how long an end nobody announced (the bus was down, a command
// run against the database directly) may go unseen. A ttl of zero turns the cache off.
//
// A database read that began before a session ended must not put it back afterwards: every
// read takes a generation first, and remember() ignores a read older than the last forget.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.hpp"

namespace parley::auth {

class SessionCache {
 public:
  SessionCache(const core::Clock& clock, std::chrono::milliseconds ttl,
               std::size_t capacity = 100'000);

  bool enabled() const { return ttl_.count() > 0; }

  /// True when the session is known active for `user_id` (cached, fresh, not expired).
  bool active(const std::string& session_id, std::int64_t user_id) const;

  /// Taken before reading the database; see remember().
  std::uint64_t generation() const;
  /// The database said active (until `expires_at_ms`) in a read that began at `generation`.
  void remember(const std::string& session_id, std::int64_t user_id, std::int64_t expires_at_ms,
                std::uint64_t generation);

  void forget(const std::string& session_id);
  void forget_user(std::int64_t user_id);
  void forget_all();

  /// Announcements of the above for (and from) other processes: one line of text.
  static std::string forget_message(const std::string& session_id);
  static std::string forget_user_message(std::int64_t user_id);
  static std::string forget_all_message();
  /// Applies an announcement; false when it is not one (ignored).
  bool apply(std::string_view message);

 private:
  struct Entry {
    std::int64_t user_id = 0;
    std::int64_t expires_at_ms = 0;
    std::int64_t checked_at_ms = 0;
  };
  const core::Clock& clock_;
  const std::chrono::milliseconds ttl_;
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  std::uint64_t generation_ = 0;
};

}  // namespace parley::auth
