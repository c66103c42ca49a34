-- 0002_accounts: sign-in sessions with rotating refresh tokens, and OAuth sign-in attempts.

-- One row per sign-in (password, Google or guest). Access tokens carry the session id, so
-- revoking the session (logout, password change, account deletion, refresh-token reuse) ends
-- every token issued under it at once.
CREATE TABLE auth_sessions (
  id TEXT PRIMARY KEY,
  user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at BIGINT NOT NULL,
  last_used_at BIGINT NOT NULL,
  -- Absolute end of the session: refreshing never extends it past this instant.
  expires_at BIGINT NOT NULL,
  revoked_at BIGINT,
  revoked_reason TEXT
);
CREATE INDEX auth_sessions_user_id_idx ON auth_sessions (user_id);

-- Refresh tokens are random; only their SHA-256 is stored. Each is used once: using it marks
-- used_at and issues its successor. Presenting a used one again means it was stolen, and the
-- whole session (the token family) is revoked.
CREATE TABLE refresh_tokens (
  token_hash TEXT PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES auth_sessions (id) ON DELETE CASCADE,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at BIGINT
);
CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);

-- An OAuth authorization request in flight: single use, short-lived. browser_binding_hash ties
-- it to the browser that started it (a cookie holds the value), so a stolen state is useless.
CREATE TABLE oauth_states (
  state TEXT PRIMARY KEY,
  browser_binding_hash TEXT NOT NULL,
  nonce TEXT NOT NULL,
  code_verifier TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX oauth_states_expires_at_idx ON oauth_states (expires_at);

-- Guests idle for too long are removed; this index finds them.
CREATE INDEX users_guest_last_seen_idx ON users (is_guest, last_seen_at);
