#include "auth/oauth_state_store.hpp"

#include "auth/session_store.hpp"
#include "core/digest.hpp"

namespace parley::auth {

Result<void> OAuthStateStore::save(const PendingAuthorization& pending) {
  const auto now = clock_.now_ms();
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto done = (*lease)->execute(
      "INSERT INTO oauth_states (state, browser_binding_hash, nonce, code_verifier, created_at, "
      "expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
      {pending.state, SessionStore::hash_token(pending.browser_binding), pending.nonce,
       pending.code_verifier, now,
       now + std::chrono::duration_cast<std::chrono::milliseconds>(lifetime_).count()});
  if (!done) return done.error();
  return {};
}

Result<PendingAuthorization> OAuthStateStore::consume(const std::string& state,
                                                      const std::string& browser_binding) {
  const auto invalid = [] { return fail(Errc::unauthorized, "invalid_state"); };
  if (state.empty() || state.size() > 256 || browser_binding.empty()) return invalid();
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  // DELETE ... RETURNING: of two callbacks racing with the same state, only one gets the row.
  auto rows = (*lease)->query(
      "DELETE FROM oauth_states WHERE state = $1 "
      "RETURNING browser_binding_hash, nonce, code_verifier, expires_at",
      {state});
  if (!rows) return rows.error();
  if (rows->empty()) return invalid();
  const auto& row = (*rows)[0];
  if (row.get<std::int64_t>("expires_at").value() <= clock_.now_ms()) return invalid();
  const auto expected = row.get<std::string>("browser_binding_hash").value();
  const auto presented = SessionStore::hash_token(browser_binding);
  if (!core::constant_time_equal(expected, presented)) return invalid();
  return PendingAuthorization{state, browser_binding, row.get<std::string>("nonce").value(),
                              row.get<std::string>("code_verifier").value()};
}

}  // namespace parley::auth
