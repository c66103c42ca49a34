-- 0001_initial: the original server's models, plus the columns later features need.
-- One file for SQLite and PostgreSQL: the double-brace placeholders (id_pk, real, blob) are set per
-- dialect (store/migrations/migrator.hpp). Times are BIGINT unix milliseconds, booleans INTEGER
-- 0/1 with CHECK constraints, JSON is TEXT. Foreign-key columns that are searched or that
-- ON DELETE has to scan are indexed.

CREATE TABLE users (
  id {{id_pk}},
  -- Stored lower-cased by the repository; NULL for guests. NULLs never collide in UNIQUE.
  email TEXT UNIQUE,
  username TEXT NOT NULL UNIQUE,
  password_hash TEXT,
  auth_provider TEXT NOT NULL CHECK (auth_provider IN ('password', 'google', 'guest')),
  provider_subject TEXT,
  is_guest INTEGER NOT NULL DEFAULT 0 CHECK (is_guest IN (0, 1)),
  preferred_language TEXT NOT NULL DEFAULT 'en',
  avatar_path TEXT,
  plan TEXT NOT NULL DEFAULT 'free',
  subscription_status TEXT,
  stripe_customer_id TEXT UNIQUE,
  stripe_subscription_id TEXT,
  subscription_current_period_end BIGINT,
  -- Tokens issued before this instant are rejected (logout everywhere, password change).
  tokens_valid_after BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  last_seen_at BIGINT,
  UNIQUE (auth_provider, provider_subject),
  CHECK ((auth_provider = 'guest' AND is_guest = 1) OR (auth_provider <> 'guest' AND is_guest = 0)),
  CHECK (auth_provider <> 'password' OR password_hash IS NOT NULL),
  CHECK (auth_provider <> 'google' OR provider_subject IS NOT NULL)
);

CREATE TABLE chatrooms (
  id {{id_pk}},
  name TEXT NOT NULL,
  creator_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
  is_private INTEGER NOT NULL DEFAULT 0 CHECK (is_private IN (0, 1)),
  password_hash TEXT,
  photo_path TEXT,
  latitude {{real}},
  longitude {{real}},
  radius_km {{real}},
  venue TEXT,
  -- Last room_seq handed out; see messages.room_seq.
  last_message_seq BIGINT NOT NULL DEFAULT 0 CHECK (last_message_seq >= 0),
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  CHECK ((latitude IS NULL AND longitude IS NULL) OR
         (latitude IS NOT NULL AND longitude IS NOT NULL)),
  CHECK (latitude IS NULL OR (latitude >= -90 AND latitude <= 90)),
  CHECK (longitude IS NULL OR (longitude >= -180 AND longitude <= 180)),
  CHECK (radius_km IS NULL OR radius_km > 0)
);
CREATE INDEX chatrooms_creator_id_idx ON chatrooms (creator_id);

CREATE TABLE chatroom_invites (
  id {{id_pk}},
  chatroom_id BIGINT NOT NULL REFERENCES chatrooms (id) ON DELETE CASCADE,
  code TEXT NOT NULL UNIQUE,
  created_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
  expires_at BIGINT,
  max_uses INTEGER CHECK (max_uses IS NULL OR max_uses > 0),
  uses INTEGER NOT NULL DEFAULT 0 CHECK (uses >= 0),
  revoked_at BIGINT,
  created_at BIGINT NOT NULL,
  -- Redeeming is `UPDATE ... SET uses = uses + 1 WHERE ... AND (max_uses IS NULL OR uses <
  -- max_uses)`; this CHECK is the backstop.
  CHECK (max_uses IS NULL OR uses <= max_uses)
);
CREATE INDEX chatroom_invites_chatroom_id_idx ON chatroom_invites (chatroom_id);
CREATE INDEX chatroom_invites_created_by_idx ON chatroom_invites (created_by);

CREATE TABLE memberships (
  chatroom_id BIGINT NOT NULL REFERENCES chatrooms (id) ON DELETE CASCADE,
  user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'member')),
  banned INTEGER NOT NULL DEFAULT 0 CHECK (banned IN (0, 1)),
  joined_at BIGINT NOT NULL,
  PRIMARY KEY (chatroom_id, user_id)
);
CREATE INDEX memberships_user_id_idx ON memberships (user_id);

CREATE TABLE messages (
  id {{id_pk}},
  chatroom_id BIGINT NOT NULL REFERENCES chatrooms (id) ON DELETE CASCADE,
  -- Per-room sequence without gaps, allocated in the inserting transaction by
  -- `UPDATE chatrooms SET last_message_seq = last_message_seq + 1 WHERE id = $1
  --  RETURNING last_message_seq`. Clients page and recover missed messages by it.
  room_seq BIGINT NOT NULL CHECK (room_seq > 0),
  -- A deleted user's messages stay, without a sender.
  sender_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
  kind TEXT NOT NULL CHECK (kind IN ('text', 'speech', 'audio', 'system')),
  text TEXT NOT NULL,
  original_language TEXT,
  audio_path TEXT,
  -- The sender's id for the message, to make a retried send idempotent.
  client_id TEXT,
  created_at BIGINT NOT NULL,
  -- Also the index for paging a room by room_seq.
  UNIQUE (chatroom_id, room_seq)
);
CREATE INDEX messages_sender_id_idx ON messages (sender_id);
-- NULL client_id or sender_id never collide, so only real retries are caught.
CREATE UNIQUE INDEX messages_client_id_idx ON messages (chatroom_id, sender_id, client_id);

CREATE TABLE metrics (
  id {{id_pk}},
  name TEXT NOT NULL,
  labels TEXT NOT NULL DEFAULT '{}',
  value {{real}} NOT NULL,
  recorded_at BIGINT NOT NULL
);
CREATE INDEX metrics_name_recorded_at_idx ON metrics (name, recorded_at);

CREATE TABLE debug_log (
  id {{id_pk}},
  level TEXT NOT NULL,
  source TEXT,
  message TEXT NOT NULL,
  context TEXT,
  request_id TEXT,
  created_at BIGINT NOT NULL
);
CREATE INDEX debug_log_created_at_idx ON debug_log (created_at);
