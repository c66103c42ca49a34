-- 0013_room_glossary: each room's glossary (issue 11). Owners and admins fix how a term is
-- translated into each language and, optionally, how it is pronounced; every engine honours it.
-- Each change bumps the room's glossary_version and is kept in glossary_changes (the term before
-- and after), so the glossary is versioned. Members propose fixes from a message; an owner or
-- admin accepts (applied as a change) or rejects them.
ALTER TABLE chatrooms ADD COLUMN glossary_version BIGINT NOT NULL DEFAULT 0;

CREATE TABLE glossary_terms (
  id {{id_pk}},
  chatroom_id BIGINT NOT NULL REFERENCES chatrooms (id) ON DELETE CASCADE,
  term TEXT NOT NULL,
  term_key TEXT NOT NULL,  -- the term folded for matching (ASCII lower case)
  pronunciation TEXT,
  translations TEXT NOT NULL,  -- JSON object: language -> fixed translation
  updated_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE (chatroom_id, term_key)
);

CREATE TABLE glossary_changes (
  chatroom_id BIGINT NOT NULL REFERENCES chatrooms (id) ON DELETE CASCADE,
  version BIGINT NOT NULL,
  action TEXT NOT NULL CHECK (action IN ('set', 'remove', 'accept')),
  term TEXT NOT NULL,
  before_json TEXT,  -- the term as it was (NULL: new)
  after_json TEXT,   -- the term as it is (NULL: removed)
  proposal_id BIGINT,
  changed_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
  changed_at BIGINT NOT NULL,
  PRIMARY KEY (chatroom_id, version)
);

CREATE TABLE glossary_proposals (
  id {{id_pk}},
  chatroom_id BIGINT NOT NULL REFERENCES chatrooms (id) ON DELETE CASCADE,
  message_id BIGINT REFERENCES messages (id) ON DELETE SET NULL,
  term TEXT NOT NULL,
  language TEXT NOT NULL,
  translation TEXT NOT NULL,
  note TEXT,
  proposed_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
  status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'accepted', 'rejected')),
  decided_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
  decided_at BIGINT,
  version BIGINT,  -- the glossary version an acceptance made
  created_at BIGINT NOT NULL
);
CREATE INDEX glossary_proposals_room_idx ON glossary_proposals (chatroom_id, status, id);
