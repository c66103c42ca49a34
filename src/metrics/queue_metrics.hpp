#pragma once
// The translation queue as metrics, read from the database at scrape time (the queue is shared
// by every process on PostgreSQL, so these are cluster-wide values):
//   parley_translation_queue_jobs{state}                 queued, running, done, dead, undelivered
//   parley_translation_job_latency_seconds{stat}         avg and max of enqueue-to-done time of
//                                                        jobs finished in the last 5 minutes
//   parley_translation_jobs_finished_recent              how many jobs that is

#include "core/clock.hpp"
#include "metrics/registry.hpp"
#include "store/database.hpp"
#include "translate/queue/translation_queue.hpp"

namespace parley::metrics {

/// Everything referenced must outlive the registry's scrapes. The callbacks BLOCK on the
/// database (scrapes run on the worker pool).
void register_queue_metrics(Registry& registry, translate::TranslationQueue& queue,
                            store::Database& database, const core::Clock& clock);

}  // namespace parley::metrics
