-- 0003_speech: stored recordings are looked up by file name (GET /api/audio/<file>), and each
-- user may keep one voice reference for cloning.
CREATE INDEX messages_audio_path_idx ON messages (audio_path);

-- A user's voice reference. The recording is kept only with the user's consent (consented_at)
-- and is deleted with the row. mode 'clone' means the provider (ElevenLabs) holds a cloned
-- voice under provider_voice_id; 'approximate' means the embedded engine matches what it can
-- (pitch, speaking rate, voice variant, kept as JSON in profile) and never claims a clone.
CREATE TABLE voice_profiles (
  user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  reference_path TEXT NOT NULL,
  mode TEXT NOT NULL CHECK (mode IN ('clone', 'approximate')),
  provider TEXT NOT NULL,
  provider_voice_id TEXT,
  profile TEXT NOT NULL,
  consented_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);
