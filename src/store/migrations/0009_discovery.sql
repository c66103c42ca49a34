-- 0009_discovery: rooms near a place and full-text search in a room's history.
--
-- Rooms near a place: each located room's point as a unit vector on the sphere
-- (x = cos(lat) cos(lon), y = cos(lat) sin(lon), z = sin(lat)) in a spatial index. A search area
-- is then a box in three dimensions: nothing to special-case at the antimeridian or the poles.
-- History search: originals and stored translations, each text its own entry, scoped by room.
-- The two dialects differ here (R*Tree and FTS5; cube and tsvector), hence the sections.

-- dialect: sqlite

CREATE VIRTUAL TABLE chatroom_geo USING rtree (id, min_x, max_x, min_y, max_y, min_z, max_z);

-- Triggers keep the index whatever writes the room (create, a new location, deletion).
CREATE TRIGGER chatroom_geo_after_insert AFTER INSERT ON chatrooms
WHEN NEW.latitude IS NOT NULL BEGIN
  INSERT INTO chatroom_geo
  SELECT NEW.id, x, x, y, y, z, z FROM (SELECT
    cos(radians(NEW.latitude)) * cos(radians(NEW.longitude)) AS x,
    cos(radians(NEW.latitude)) * sin(radians(NEW.longitude)) AS y,
    sin(radians(NEW.latitude)) AS z);
END;

CREATE TRIGGER chatroom_geo_after_update AFTER UPDATE OF latitude, longitude ON chatrooms BEGIN
  DELETE FROM chatroom_geo WHERE id = OLD.id;
  INSERT INTO chatroom_geo
  SELECT NEW.id, x, x, y, y, z, z FROM (SELECT
    cos(radians(NEW.latitude)) * cos(radians(NEW.longitude)) AS x,
    cos(radians(NEW.latitude)) * sin(radians(NEW.longitude)) AS y,
    sin(radians(NEW.latitude)) AS z)
  WHERE NEW.latitude IS NOT NULL;
END;

CREATE TRIGGER chatroom_geo_after_delete AFTER DELETE ON chatrooms BEGIN
  DELETE FROM chatroom_geo WHERE id = OLD.id;
END;

INSERT INTO chatroom_geo
SELECT id, x, x, y, y, z, z FROM (SELECT id,
  cos(radians(latitude)) * cos(radians(longitude)) AS x,
  cos(radians(latitude)) * sin(radians(longitude)) AS y,
  sin(radians(latitude)) AS z
  FROM chatrooms WHERE latitude IS NOT NULL);

-- One entry per text: `body` is searched; `room` holds the token r<chatroom id>, so that a query
-- scoped to a room intersects two posting lists instead of filtering every match; `language` is
-- the text's language; `is_original` 1 for the message itself, 0 for a translation.
-- Each entry's rowid is message id * 64 + slot (0: the original; 1..63: its translations in
-- the order they were stored; a message is never translated into more languages than that), so
-- that a message's entries are one rowid range: removing them never reads the room's list.
CREATE VIRTUAL TABLE message_search USING fts5 (
  body, room, message_id UNINDEXED, language UNINDEXED, is_original UNINDEXED,
  tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER message_search_after_message AFTER INSERT ON messages BEGIN
  INSERT INTO message_search (rowid, body, room, message_id, language, is_original)
  VALUES (NEW.id * 64, NEW.text, 'r' || NEW.chatroom_id, NEW.id, NEW.original_language, 1);
END;

-- Translations are only ever added (ON CONFLICT DO NOTHING adds nothing and fires nothing), or
-- removed with their message: the count after this insert is the new one's slot.
CREATE TRIGGER message_search_after_translation AFTER INSERT ON message_translations
WHEN (SELECT COUNT(*) FROM message_translations WHERE message_id = NEW.message_id) < 64 BEGIN
  INSERT INTO message_search (rowid, body, room, message_id, language, is_original)
  SELECT NEW.message_id * 64 +
           (SELECT COUNT(*) FROM message_translations WHERE message_id = NEW.message_id),
         NEW.text, 'r' || m.chatroom_id, NEW.message_id, NEW.language, 0
  FROM messages m WHERE m.id = NEW.message_id;
END;

CREATE TRIGGER message_search_after_translation_delete AFTER DELETE ON message_translations
BEGIN
  DELETE FROM message_search
  WHERE rowid BETWEEN OLD.message_id * 64 + 1 AND OLD.message_id * 64 + 63
    AND language = OLD.language AND is_original = 0;
END;

-- A changed text is a new message as far as search goes: its translations (of the old text) go.
CREATE TRIGGER message_search_after_message_update AFTER UPDATE OF text ON messages BEGIN
  DELETE FROM message_search WHERE rowid BETWEEN OLD.id * 64 AND OLD.id * 64 + 63;
  INSERT INTO message_search (rowid, body, room, message_id, language, is_original)
  VALUES (NEW.id * 64, NEW.text, 'r' || NEW.chatroom_id, NEW.id, NEW.original_language, 1);
END;

-- A deleted message (also each message of a deleted room) takes its entries: one rowid range.
CREATE TRIGGER message_search_after_message_delete AFTER DELETE ON messages BEGIN
  DELETE FROM message_search WHERE rowid BETWEEN OLD.id * 64 AND OLD.id * 64 + 63;
END;

INSERT INTO message_search (rowid, body, room, message_id, language, is_original)
SELECT id * 64, text, 'r' || chatroom_id, id, original_language, 1 FROM messages;
INSERT INTO message_search (rowid, body, room, message_id, language, is_original)
SELECT t.message_id * 64 + (SELECT COUNT(*) FROM message_translations e
                            WHERE e.message_id = t.message_id AND e.rowid <= t.rowid),
       t.text, 'r' || m.chatroom_id, t.message_id, t.language, 0
FROM message_translations t JOIN messages m ON m.id = t.message_id
WHERE (SELECT COUNT(*) FROM message_translations e
       WHERE e.message_id = t.message_id AND e.rowid <= t.rowid) < 64;

-- dialect: postgres

-- cube is a trusted extension: the database's owner may create it (PostgreSQL 13 and later).
CREATE EXTENSION IF NOT EXISTS cube;

CREATE INDEX chatrooms_geo_idx ON chatrooms USING gist (cube(ARRAY[
  cos(radians(latitude)) * cos(radians(longitude)),
  cos(radians(latitude)) * sin(radians(longitude)),
  sin(radians(latitude))])) WHERE latitude IS NOT NULL;

-- 'simple': no stemming, the same for every language (a room mixes languages).
CREATE INDEX messages_search_idx ON messages USING gin (to_tsvector('simple', text));
CREATE INDEX message_translations_search_idx ON message_translations
  USING gin (to_tsvector('simple', text));
