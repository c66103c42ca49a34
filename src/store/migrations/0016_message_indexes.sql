-- 0016_message_indexes: two fewer index entries for every message stored.
--
-- Two of the indexes every message entered did not need its entry:
-- - messages_audio_path_idx held an entry for every message, though only recordings have a
--   file (`audio_path` is NULL for typed messages). Its one lookup, `audio_path = $1`, implies
--   `audio_path IS NOT NULL`, so both databases answer it from a partial index
--   (messages_audio_file_idx; SQLite cannot rename an index).
-- - messages_sender_id_idx (sender_id) served the foreign key (a deleted user's messages keep
--   their text, sender_id SET NULL) and nothing else. The unique index that catches a retried
--   send covers the same three columns whichever their order: led by sender_id, it also finds
--   a sender's messages, and the retry lookup (room, sender and client_id) reads it as before.
-- Uniqueness is unchanged: the same columns, and NULLs never collide in either database, so
-- the new unique index accepts exactly the rows the old one did.
--
-- The new indexes are built first: on PostgreSQL a build blocks writes to messages but not
-- reads, while DROP INDEX locks the table for reads too; last, it holds that lock only briefly.

CREATE INDEX messages_audio_file_idx ON messages (audio_path) WHERE audio_path IS NOT NULL;
CREATE UNIQUE INDEX messages_sender_client_idx ON messages (sender_id, chatroom_id, client_id);

DROP INDEX messages_audio_path_idx;
DROP INDEX messages_client_id_idx;
DROP INDEX messages_sender_id_idx;
