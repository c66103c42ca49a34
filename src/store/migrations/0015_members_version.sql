-- 0015_members_version: a counter per room that moves whenever the set of languages its members
-- listen in may have changed (a member joins, leaves, is banned or unbanned, picks a language for
-- the room, or changes their preferred language). Storing a message reads the room's listening
-- languages; with this counter a server reads them again only after a change (one row instead of
-- every membership, in rooms of thousands), and every process of a cluster sees the same counter.
-- Triggers keep it, so no code path that changes memberships can forget. A room without a row
-- is at version 0.
--
-- A table of its own, not a column of chatrooms: storing messages locks rooms' rows (their
-- sequence numbers), and a membership change must not take those locks in another order.
-- No foreign key: a room's deletion cascades to its memberships, whose triggers must not fail.

CREATE TABLE room_members_versions (
  chatroom_id BIGINT PRIMARY KEY,
  version BIGINT NOT NULL
);

-- dialect: sqlite

CREATE TRIGGER members_version_after_join AFTER INSERT ON memberships BEGIN
  INSERT INTO room_members_versions (chatroom_id, version)
  SELECT NEW.chatroom_id, 1 WHERE EXISTS (SELECT 1 FROM chatrooms WHERE id = NEW.chatroom_id)
  ON CONFLICT (chatroom_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER members_version_after_leave AFTER DELETE ON memberships BEGIN
  INSERT INTO room_members_versions (chatroom_id, version)
  SELECT OLD.chatroom_id, 1 WHERE EXISTS (SELECT 1 FROM chatrooms WHERE id = OLD.chatroom_id)
  ON CONFLICT (chatroom_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER members_version_after_change AFTER UPDATE OF language, banned ON memberships
BEGIN
  INSERT INTO room_members_versions (chatroom_id, version)
  SELECT NEW.chatroom_id, 1 WHERE EXISTS (SELECT 1 FROM chatrooms WHERE id = NEW.chatroom_id)
  ON CONFLICT (chatroom_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER members_version_after_preference AFTER UPDATE OF preferred_language ON users
WHEN OLD.preferred_language IS NOT NEW.preferred_language BEGIN
  INSERT INTO room_members_versions (chatroom_id, version)
  SELECT chatroom_id, 1 FROM memberships WHERE user_id = NEW.id
  ON CONFLICT (chatroom_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER members_version_after_room_delete AFTER DELETE ON chatrooms BEGIN
  DELETE FROM room_members_versions WHERE chatroom_id = OLD.id;
END;

-- dialect: postgres

CREATE FUNCTION members_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'chatrooms' THEN
    DELETE FROM room_members_versions WHERE chatroom_id = OLD.id;
  ELSIF TG_TABLE_NAME = 'users' THEN
    -- In room order, so that two such changes never wait for each other in opposite orders.
    INSERT INTO room_members_versions AS v (chatroom_id, version)
    SELECT chatroom_id, 1 FROM memberships WHERE user_id = NEW.id ORDER BY chatroom_id
    ON CONFLICT (chatroom_id) DO UPDATE SET version = v.version + 1;
  ELSE
    INSERT INTO room_members_versions AS v (chatroom_id, version)
    SELECT CASE WHEN TG_OP = 'DELETE' THEN OLD.chatroom_id ELSE NEW.chatroom_id END, 1
    WHERE EXISTS (SELECT 1 FROM chatrooms
                  WHERE id = CASE WHEN TG_OP = 'DELETE' THEN OLD.chatroom_id
                                  ELSE NEW.chatroom_id END)
    ON CONFLICT (chatroom_id) DO UPDATE SET version = v.version + 1;
  END IF;
  RETURN NULL;
END;
$$;

CREATE TRIGGER members_version_after_join AFTER INSERT ON memberships
  FOR EACH ROW EXECUTE FUNCTION members_version_bump();
CREATE TRIGGER members_version_after_leave AFTER DELETE ON memberships
  FOR EACH ROW EXECUTE FUNCTION members_version_bump();
CREATE TRIGGER members_version_after_change AFTER UPDATE OF language, banned ON memberships
  FOR EACH ROW EXECUTE FUNCTION members_version_bump();
CREATE TRIGGER members_version_after_preference AFTER UPDATE OF preferred_language ON users
  FOR EACH ROW WHEN (OLD.preferred_language IS DISTINCT FROM NEW.preferred_language)
  EXECUTE FUNCTION members_version_bump();
CREATE TRIGGER members_version_after_room_delete AFTER DELETE ON chatrooms
  FOR EACH ROW EXECUTE FUNCTION members_version_bump();
