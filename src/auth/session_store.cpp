#include "auth/session_store.hpp"

#include <algorithm>

#include "core/digest.hpp"
#include "core/random.hpp"

namespace parley::auth {

namespace {
constexpr std::int64_t kMillisPerSecond = 1000;
Error invalid_refresh() { return fail(Errc::unauthorized, "invalid or expired refresh token"); }
}  // namespace

std::string SessionStore::hash_token(const std::string& token) {
  return core::to_hex(core::sha256(token));
}

Result<SessionGrant> SessionStore::open(std::int64_t user_id) {
  const auto now = clock_.now_ms();
  SessionGrant grant;
  grant.session_id = core::random_token(18);
  grant.user_id = user_id;
  grant.refresh_token = core::random_token(32);
  const std::int64_t session_end = now + session_lifetime_.count() * kMillisPerSecond;
  grant.refresh_expires_at =
      std::min(session_end, now + refresh_lifetime_.count() * kMillisPerSecond);

  const auto generation = cache_ != nullptr ? cache_->generation() : 0;
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto tx = store::Transaction::begin(**lease);
  if (!tx) return tx.error();
  auto session = (*lease)->execute(
      "INSERT INTO auth_sessions (id, user_id, created_at, last_used_at, expires_at) "
      "VALUES ($1, $2, $3, $3, $4)",
      {grant.session_id, user_id, now, session_end});
  if (!session) return session.error();
  auto token = (*lease)->execute(
      "INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at) "
      "VALUES ($1, $2, $3, $4)",
      {hash_token(grant.refresh_token), grant.session_id, now, grant.refresh_expires_at});
  if (!token) return token.error();
  if (auto done = tx->commit(); !done) return done.error();
  if (cache_ != nullptr) cache_->remember(grant.session_id, user_id, session_end, generation);
  return grant;
}

void SessionStore::forget(const std::string& session_id) {
  if (cache_ == nullptr) return;
  cache_->forget(session_id);
  if (announce_) announce_(SessionCache::forget_message(session_id));
}

void SessionStore::forget_user(std::int64_t user_id) {
  if (cache_ == nullptr) return;
  cache_->forget_user(user_id);
  if (announce_) announce_(SessionCache::forget_user_message(user_id));
}

void SessionStore::forget_all() {
  if (cache_ == nullptr) return;
  cache_->forget_all();
  if (announce_) announce_(SessionCache::forget_all_message());
}

Result<SessionGrant> SessionStore::rotate(const std::string& refresh_token) {
  const auto now = clock_.now_ms();
  const auto hash = hash_token(refresh_token);
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto tx = store::Transaction::begin(**lease);
  if (!tx) return tx.error();
  auto rows = (*lease)->query(
      "SELECT r.session_id, r.expires_at, r.used_at, s.user_id, s.expires_at AS session_end, "
      "s.revoked_at FROM refresh_tokens r JOIN auth_sessions s ON s.id = r.session_id "
      "WHERE r.token_hash = $1",
      {hash});
  if (!rows) return rows.error();
  if (rows->empty()) return invalid_refresh();
  const auto& row = (*rows)[0];
  const auto session_id = row.get<std::string>("session_id").value();
  if (row.try_get<std::int64_t>("used_at")) {
    // Reuse: the token family is compromised. Revoke and commit that, then refuse.
    auto revoked = (*lease)->execute(
        "UPDATE auth_sessions SET revoked_at = $1, revoked_reason = 'refresh_token_reuse' "
        "WHERE id = $2 AND revoked_at IS NULL",
        {now, session_id});
    if (!revoked) return revoked.error();
    if (auto done = tx->commit(); !done) return done.error();
    forget(session_id);
    return invalid_refresh();
  }
  if (row.try_get<std::int64_t>("revoked_at") ||
      row.get<std::int64_t>("expires_at").value() <= now ||
      row.get<std::int64_t>("session_end").value() <= now) {
    return invalid_refresh();
  }
  // Conditional on used_at IS NULL: of two concurrent rotations only one wins.
  auto claimed = (*lease)->execute(
      "UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL",
      {now, hash});
  if (!claimed) return claimed.error();
  if (*claimed != 1) return invalid_refresh();

  SessionGrant grant;
  grant.session_id = session_id;
  grant.user_id = row.get<std::int64_t>("user_id").value();
  grant.refresh_token = core::random_token(32);
  grant.refresh_expires_at = std::min(row.get<std::int64_t>("session_end").value(),
                                      now + refresh_lifetime_.count() * kMillisPerSecond);
  auto inserted = (*lease)->execute(
      "INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at) "
      "VALUES ($1, $2, $3, $4)",
      {hash_token(grant.refresh_token), session_id, now, grant.refresh_expires_at});
  if (!inserted) return inserted.error();
  auto touched = (*lease)->execute("UPDATE auth_sessions SET last_used_at = $1 WHERE id = $2",
                                   {now, session_id});
  if (!touched) return touched.error();
  if (auto done = tx->commit(); !done) return done.error();
  return grant;
}

Result<bool> SessionStore::is_active(const std::string& session_id, std::int64_t user_id) {
  if (known_active(session_id, user_id)) return true;
  const auto generation = cache_ != nullptr ? cache_->generation() : 0;
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto rows = (*lease)->query(
      "SELECT expires_at FROM auth_sessions WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL "
      "AND expires_at > $3",
      {session_id, user_id, clock_.now_ms()});
  if (!rows) return rows.error();
  if (rows->empty()) return false;
  if (cache_ != nullptr) {
    cache_->remember(session_id, user_id, (*rows)[0].get<std::int64_t>("expires_at").value(),
                     generation);
  }
  return true;
}

Result<std::int64_t> SessionStore::started_at(const std::string& session_id) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto rows = (*lease)->query("SELECT created_at FROM auth_sessions WHERE id = $1", {session_id});
  if (!rows) return rows.error();
  if (rows->empty()) return fail(Errc::not_found, "no such session");
  return (*rows)[0].get<std::int64_t>("created_at");
}

Result<void> SessionStore::revoke(const std::string& session_id, const std::string& reason) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto done = (*lease)->execute(
      "UPDATE auth_sessions SET revoked_at = $1, revoked_reason = $2 "
      "WHERE id = $3 AND revoked_at IS NULL",
      {clock_.now_ms(), reason, session_id});
  if (!done) return done.error();
  forget(session_id);
  return {};
}

Result<void> SessionStore::revoke_all(std::int64_t user_id, const std::string& reason,
                                      const std::string& keep_session_id) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto done = (*lease)->execute(
      "UPDATE auth_sessions SET revoked_at = $1, revoked_reason = $2 "
      "WHERE user_id = $3 AND id <> $4 AND revoked_at IS NULL",
      {clock_.now_ms(), reason, user_id, keep_session_id});
  if (!done) return done.error();
  // The kept session, if any, is simply checked again next time.
  forget_user(user_id);
  return {};
}

Result<std::int64_t> SessionStore::purge_expired() {
  const auto now = clock_.now_ms();
  const std::int64_t day = 24LL * 3600 * 1000;
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto sessions = (*lease)->execute(
      "DELETE FROM auth_sessions WHERE expires_at < $1 OR revoked_at < $1", {now - day});
  if (!sessions) return sessions.error();
  auto states = (*lease)->execute("DELETE FROM oauth_states WHERE expires_at < $1", {now});
  if (!states) return states.error();
  return *sessions + *states;
}

}  // namespace parley::auth
