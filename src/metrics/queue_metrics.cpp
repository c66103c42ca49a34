#include "metrics/queue_metrics.hpp"

#include <stdexcept>

namespace parley::metrics {

namespace {

constexpr std::int64_t kWindowMs = 5 * 60 * 1000;

struct Latency {
  std::int64_t finished = 0;
  double avg_ms = 0;
  double max_ms = 0;
};

Latency recent_latency(store::Database& database, std::int64_t now_ms) {
  auto lease = database.acquire();
  if (!lease) throw std::runtime_error(lease.error().message);
  auto rows = (*lease)->query(
      "SELECT COUNT(*), AVG(completed_at - created_at), MAX(completed_at - created_at) "
      "FROM translation_jobs WHERE state = 'done' AND completed_at >= $1",
      {now_ms - kWindowMs});
  if (!rows) throw std::runtime_error(rows.error().message);
  Latency out;
  if (rows->empty()) return out;
  const auto& row = (*rows)[0];
  auto finished = row.get<std::int64_t>(std::size_t{0});
  auto avg = row.get<std::optional<double>>(std::size_t{1});
  auto max = row.get<std::optional<double>>(std::size_t{2});
  if (!finished || !avg || !max) throw std::runtime_error("bad latency row");
  out.finished = *finished;
  out.avg_ms = avg->value_or(0);
  out.max_ms = max->value_or(0);
  return out;
}

}  // namespace

void register_queue_metrics(Registry& registry, translate::TranslationQueue& queue,
                            store::Database& database, const core::Clock& clock) {
  registry.callback("parley_translation_queue_jobs", "Translation jobs by state (every process).",
                    Type::gauge, {"state"}, [&queue] {
                      auto stats = queue.stats();
                      if (!stats) throw std::runtime_error(stats.error().message);
                      return std::vector<Sample>{
                          {{"queued"}, static_cast<double>(stats->queued)},
                          {{"running"}, static_cast<double>(stats->running)},
                          {{"done"}, static_cast<double>(stats->done)},
                          {{"dead"}, static_cast<double>(stats->dead)},
                          {{"undelivered"}, static_cast<double>(stats->undelivered)}};
                    });
  registry.callback("parley_translation_job_latency_seconds",
                    "Enqueue-to-done time of translation jobs finished in the last 5 minutes.",
                    Type::gauge, {"stat"}, [&database, &clock] {
                      const auto latency = recent_latency(database, clock.now_ms());
                      return std::vector<Sample>{{{"avg"}, latency.avg_ms / 1000.0},
                                                 {{"max"}, latency.max_ms / 1000.0}};
                    });
  registry.callback("parley_translation_jobs_finished_recent",
                    "Translation jobs finished in the last 5 minutes (every process).", Type::gauge,
                    {}, [&database, &clock] {
                      const auto latency = recent_latency(database, clock.now_ms());
                      return std::vector<Sample>{{{}, static_cast<double>(latency.finished)}};
                    });
}

}  // namespace parley::metrics
