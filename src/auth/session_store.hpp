#pragma once
// Sign-in sessions and their rotating refresh tokens (see migration 0002_accounts.sql).
// Every method BLOCKS on the database: call it from the worker pool. Thread-safe.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "auth/session_cache.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "store/database.hpp"

namespace parley::auth {

struct SessionGrant {
  std::string session_id;
  std::int64_t user_id = 0;
  std::string refresh_token;  ///< the only copy of the secret: the database keeps its hash
  std::int64_t refresh_expires_at = 0;
};

class SessionStore {
 public:
  SessionStore(store::Database& database, const core::Clock& clock,
               std::chrono::seconds session_lifetime, std::chrono::seconds refresh_lifetime)
      : database_(database),
        clock_(clock),
        session_lifetime_(session_lifetime),
        refresh_lifetime_(refresh_lifetime) {}

  /// Keeps active sessions in `cache` (see session_cache.hpp); `announce` is called with the
  /// announcement of every session this process ends, for the other processes. Before serving.
  void use_cache(SessionCache& cache, std::function<void(std::string)> announce = {}) {
    cache_ = &cache;
    announce_ = std::move(announce);
  }
  /// True when the cache alone knows the session active: no database, never blocks.
  bool known_active(const std::string& session_id, std::int64_t user_id) const {
    return cache_ != nullptr && cache_->active(session_id, user_id);
  }
  /// The user's sessions went with the user (account deleted): none stays cached.
  void forget_user(std::int64_t user_id);
  /// Users went in bulk (idle guests): nothing stays cached.
  void forget_all();

  /// Starts a session with its first refresh token.
  Result<SessionGrant> open(std::int64_t user_id);

  /// Exchanges a refresh token for its successor (single use). Presenting a token that was
  /// already used revokes its whole session, since only a thief or a replay would do that.
  /// Errors: Errc::unauthorized for unknown, used, expired or revoked tokens.
  Result<SessionGrant> rotate(const std::string& refresh_token);

  /// True while the session exists, belongs to `user_id`, is not revoked and has not expired.
  Result<bool> is_active(const std::string& session_id, std::int64_t user_id);

  /// When the session was opened (sign-in time). Errors: Errc::not_found.
  Result<std::int64_t> started_at(const std::string& session_id);

  Result<void> revoke(const std::string& session_id, const std::string& reason);
  /// Revokes every session of the user except `keep_session_id` (may be empty).
  Result<void> revoke_all(std::int64_t user_id, const std::string& reason,
                          const std::string& keep_session_id = {});

  /// Deletes sessions that ended more than a day ago, and OAuth states past their expiry.
  Result<std::int64_t> purge_expired();

  static std::string hash_token(const std::string& token);

 private:
  store::Database& database_;
  const core::Clock& clock_;
  std::chrono::seconds session_lifetime_;
  std::chrono::seconds refresh_lifetime_;
  SessionCache* cache_ = nullptr;
  std::function<void(std::string)> announce_;
  void forget(const std::string& session_id);
};

}  // namespace parley::auth
