-- 0004_translation: the durable translation queue (jobs are rows, so a crash loses no accepted
-- job) and the translations stored with each message (history and reconnects show them).

-- One translation to run. States: queued (waits for run_after) -> running (a worker holds the
-- lease until lease_expires_at; an expired lease means the worker died and the job is claimed
-- again) -> done (result_* set) or dead (dead letter: last_error says why). attempts counts the
-- runs started (incremented when claimed), so a job that kills its worker every time still ends
-- dead after max_attempts. delivered_at makes delivery idempotent.
CREATE TABLE translation_jobs (
  id {{id_pk}},
  -- NULL for ad hoc jobs (REST, batch). A deleted message cancels its jobs.
  message_id BIGINT REFERENCES messages (id) ON DELETE CASCADE,
  room_id BIGINT REFERENCES chatrooms (id) ON DELETE CASCADE,
  text TEXT NOT NULL,
  -- NULL: detect the language.
  source_language TEXT,
  target_language TEXT NOT NULL,
  -- NULL: any engine that supports the pair.
  engine TEXT,
  state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'dead')),
  attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  max_attempts INTEGER NOT NULL CHECK (max_attempts > 0),
  run_after BIGINT NOT NULL,
  lease_owner TEXT,
  lease_expires_at BIGINT,
  last_error TEXT,
  last_error_code TEXT,
  result_text TEXT,
  result_source TEXT,
  result_engine TEXT,
  -- Pivot languages, comma-separated; '' for a direct translation.
  result_via TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  completed_at BIGINT,
  delivered_at BIGINT,
  -- A message is translated once per target language; NULL message ids never collide.
  UNIQUE (message_id, target_language),
  CHECK (state <> 'running' OR (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL)),
  CHECK (state <> 'done' OR (result_text IS NOT NULL AND result_engine IS NOT NULL AND
                             completed_at IS NOT NULL)),
  CHECK (state <> 'dead' OR last_error IS NOT NULL),
  CHECK (delivered_at IS NULL OR state = 'done')
);
-- Claiming: queued jobs that are due, and running jobs whose lease expired.
CREATE INDEX translation_jobs_claim_idx ON translation_jobs (state, run_after);
CREATE INDEX translation_jobs_lease_idx ON translation_jobs (state, lease_expires_at);
CREATE INDEX translation_jobs_room_id_idx ON translation_jobs (room_id);
-- (message_id is the first column of the UNIQUE index, which ON DELETE CASCADE uses.)

-- The translations shown with a message, one per language.
CREATE TABLE message_translations (
  message_id BIGINT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  language TEXT NOT NULL,
  text TEXT NOT NULL,
  source_language TEXT,
  engine TEXT NOT NULL,
  -- Pivot languages, comma-separated; '' for a direct translation.
  via TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  PRIMARY KEY (message_id, language)
);
