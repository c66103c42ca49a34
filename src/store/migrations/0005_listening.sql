-- 0005_listening: the language each member listens in per room (NULL: their preferred language),
-- and the translation cache shared by every Parley process (the same text is translated once).

ALTER TABLE memberships ADD COLUMN language TEXT;

-- One translation of one text, keyed by the SHA-256 of the text (hex) and the language pair. The
-- text itself is not kept: the key proves a match, and the cache holds no message it could leak.
CREATE TABLE translation_cache (
  text_sha256 TEXT NOT NULL,
  source_language TEXT NOT NULL,
  target_language TEXT NOT NULL,
  translation TEXT NOT NULL,
  engine TEXT NOT NULL,
  -- Pivot languages, comma-separated; '' for a direct translation.
  via TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  last_used_at BIGINT NOT NULL,
  PRIMARY KEY (text_sha256, source_language, target_language)
);
-- Retention deletes the least recently used entries first.
CREATE INDEX translation_cache_last_used_idx ON translation_cache (last_used_at);
