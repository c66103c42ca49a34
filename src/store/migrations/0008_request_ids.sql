-- 0008_request_ids: tying logs together (issue 8). A translation job remembers what caused it
-- (an HTTP request id, or "<socket id>:<event seq>" for a Socket.IO event), so that the log lines
-- of its runs, on whichever process claims it, carry the same request_id as the request's own
-- lines; and debug_log is searchable by request id (GET /api/admin/logs?request_id=...).
ALTER TABLE translation_jobs ADD COLUMN request_id TEXT;
CREATE INDEX debug_log_request_id_idx ON debug_log (request_id);
