-- 0006_queue_order: claiming a job walks the due jobs in queue order (created_at, id) through an
-- index instead of reading and sorting every due job: a claim costs the same with 10 or 10,000
-- jobs waiting (bench/translation measured 0.04 ms vs 1.9 ms before).
CREATE INDEX translation_jobs_order_idx ON translation_jobs (state, created_at, id);
DROP INDEX translation_jobs_claim_idx;
