-- 0011_language_fixes: wrong-language correction (issue 11).
-- Each user declares the languages they speak (comma-separated primary subtags, in the order
-- given; '' when they declared none). Detection picks among them and switches only on
-- confident, persistent evidence.
ALTER TABLE users ADD COLUMN spoken_languages TEXT NOT NULL DEFAULT '';

-- A message's language (and, for speech, the text heard in it) can be corrected by a member.
-- The message row holds the corrected state; every correction is kept here, so history shows
-- what the message said before and who corrected it. A deleted user's corrections stay.
CREATE TABLE message_corrections (
  id {{id_pk}},
  message_id BIGINT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  corrected_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
  previous_language TEXT,
  language TEXT NOT NULL,
  previous_text TEXT NOT NULL,
  text TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX message_corrections_message_idx ON message_corrections (message_id, id);
CREATE INDEX message_corrections_user_idx ON message_corrections (corrected_by);

-- The message row's summary of its corrections, so that history pages read it without another
-- query: when and by whom it was last corrected, and what it was before the first correction
-- (initial_text only when a correction changed the text).
ALTER TABLE messages ADD COLUMN corrected_at BIGINT;
ALTER TABLE messages ADD COLUMN corrected_by BIGINT;
ALTER TABLE messages ADD COLUMN initial_language TEXT;
ALTER TABLE messages ADD COLUMN initial_text TEXT;
