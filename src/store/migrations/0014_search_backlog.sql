-- 0014_search_backlog: SQLite indexes new messages for history search in batches, after they are
-- stored, instead of in each message's own transaction.
--
-- An FTS5 insert in a transaction of its own writes a new index segment and merges: about 60 us
-- per message, as much as storing the message itself. A batch of a few hundred costs under 10 us
-- per message. Messages ids only grow (AUTOINCREMENT), so the batches need no queue: everything
-- above `indexed_through` is waiting. HistorySearch indexes what waits before every search (no
-- search misses a stored message) and the server indexes it in the background every second.
-- Translations stay indexed as they are stored (triggers of 0009): they are fewer, and each
-- takes its own slot of the message's rowid range, whether or not the original is indexed yet.

-- dialect: sqlite

CREATE TABLE message_search_progress (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  indexed_through BIGINT NOT NULL  -- every message with an id up to this one is indexed
);
-- Until now every message was indexed as it was stored.
INSERT INTO message_search_progress (id, indexed_through)
SELECT 1, COALESCE(MAX(id), 0) FROM messages;

DROP TRIGGER message_search_after_message;

-- A changed text drops the message's entries (its translations were of the old text); the new
-- text is indexed here only if the original was, else by the next batch.
DROP TRIGGER message_search_after_message_update;
CREATE TRIGGER message_search_after_message_update AFTER UPDATE OF text ON messages BEGIN
  DELETE FROM message_search WHERE rowid BETWEEN OLD.id * 64 AND OLD.id * 64 + 63;
  INSERT INTO message_search (rowid, body, room, message_id, language, is_original)
  SELECT NEW.id * 64, NEW.text, 'r' || NEW.chatroom_id, NEW.id, NEW.original_language, 1
  WHERE NEW.id <= (SELECT indexed_through FROM message_search_progress);
END;

-- dialect: postgres

-- PostgreSQL's GIN indexes (0009) defer their own work (fastupdate's pending list): unchanged.
SELECT 1;
