-- 0012_listening_modes: how each member listens to a room (issue 11): captions only (NULL, the
-- default), a neutral synthesized voice, the speaker's own voice (only where the speaker keeps a
-- consented voice reference), or the original recording with captions. Per member and room,
-- so a choice survives reconnects; the audio format is the listener's client's.
ALTER TABLE memberships ADD COLUMN listening_mode TEXT
  CHECK (listening_mode IS NULL OR listening_mode IN ('captions', 'neutral', 'cloned', 'original'));
ALTER TABLE memberships ADD COLUMN listening_format TEXT
  CHECK (listening_format IS NULL OR listening_format IN ('ogg', 'mp3', 'wav'));
