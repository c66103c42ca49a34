#include "metrics/sampler.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace parley::metrics {

namespace asio = boost::asio;

std::vector<std::string> default_sampled_series() {
  return {"parley_socketio_connections",
          "parley_socketio_rooms",
          "parley_socketio_events_received_total",
          "parley_socketio_events_sent_total",
          "parley_http_requests_total",
          "parley_translation_queue_jobs",
          "parley_service_level",
          "process_resident_memory_bytes",
          "process_cpu_seconds_total"};
}

MetricsSampler::MetricsSampler(const Registry& registry, store::Database& database,
                               const core::Clock& clock, SamplerOptions options)
    : registry_(registry), database_(database), clock_(clock), options_(std::move(options)) {}

Result<std::size_t> MetricsSampler::sample_once() {
  const auto now = clock_.now_ms();
  auto points = registry_.collect();
  std::erase_if(points, [&](const Point& point) {
    return std::find(options_.series.begin(), options_.series.end(), point.name) ==
           options_.series.end();
  });
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto tx = store::Transaction::begin(**lease);
  if (!tx) return tx.error();
  for (const auto& point : points) {
    boost::json::object labels;
    for (const auto& [name, value] : point.labels) labels[name] = value;
    if (!options_.node.empty()) labels["node"] = options_.node;
    auto inserted = (*lease)->execute(
        "INSERT INTO metrics (name, labels, value, recorded_at) VALUES ($1, $2, $3, $4)",
        {point.name, boost::json::serialize(labels), point.value, now});
    if (!inserted) return inserted.error();
  }
  auto purged = (*lease)->execute("DELETE FROM metrics WHERE recorded_at < $1",
                                  {now - static_cast<std::int64_t>(options_.retention.count())});
  if (!purged) return purged.error();
  if (auto done = tx->commit(); !done) return done.error();
  return points.size();
}

asio::awaitable<void> run_sampler(asio::steady_timer& timer, core::WorkerPool& workers,
                                  MetricsSampler& sampler, core::Logger& log) {
  for (;;) {
    timer.expires_after(sampler.options().interval);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;  // cancelled: shutting down
    auto job = [&sampler] { return sampler.sample_once(); };
    auto written = co_await workers.run(std::move(job));
    if (!written) {
      log.warning("metrics_sample_failed",
                  {{"code", to_code(written.error().code)}, {"error", written.error().message}});
    }
  }
}

Result<std::vector<StoredPoint>> read_series(store::Database& database, const std::string& name,
                                             std::int64_t since_ms, std::size_t limit) {
  auto lease = database.acquire();
  if (!lease) return lease.error();
  auto rows = (*lease)->query(
      "SELECT labels, value, recorded_at FROM metrics WHERE name = $1 AND recorded_at >= $2 "
      "ORDER BY recorded_at, id LIMIT $3",
      {name, since_ms, static_cast<std::int64_t>(limit)});
  if (!rows) return rows.error();
  std::vector<StoredPoint> out;
  out.reserve(rows->size());
  for (const auto& row : *rows) {
    auto labels = row.get<std::string>(std::size_t{0});
    auto value = row.get<double>(std::size_t{1});
    auto at = row.get<std::int64_t>(std::size_t{2});
    if (!labels || !value || !at) return fail(Errc::internal, "bad metrics row");
    out.push_back({std::move(*labels), *value, *at});
  }
  return out;
}

}  // namespace parley::metrics
