-- 0010_transcript: the room's record (issue 11). A spoken message remembers when its utterance
-- was spoken (unix ms; NULL for typed messages and uploads, whose time is created_at), so that a
-- transcript's cues line up with the speech rather than with when recognition finished.
-- Transcripts read a room in the order its messages began: the index is on exactly that order,
-- so a range is read from the index and a LIMIT stops early, never sorting a room's history.
ALTER TABLE messages ADD COLUMN spoken_started_at BIGINT;
ALTER TABLE messages ADD COLUMN spoken_ended_at BIGINT;
CREATE INDEX messages_room_started_at_idx
  ON messages (chatroom_id, (COALESCE(spoken_started_at, created_at)), room_seq);
