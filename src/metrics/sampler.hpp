#pragma once
// Keeps a history of selected series in the `metrics` table (name, labels as a JSON object,
// value, recorded_at in Unix ms): every interval one transaction inserts the current value of
// each selected series and deletes rows older than the retention. Several processes may share
// the table: each row's labels carry the process's `node`.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/worker_pool.hpp"
#include "metrics/registry.hpp"
#include "store/database.hpp"

namespace parley::metrics {

struct SamplerOptions {
  std::chrono::milliseconds interval{60'000};
  std::chrono::milliseconds retention{30LL * 24 * 3600 * 1000};
  /// Point names to keep (see Registry::collect: a histogram's are <name>_count and <name>_sum).
  std::vector<std::string> series;
  /// Added to each row's labels as "node" (empty: none).
  std::string node;
};

/// The series Parley keeps by default: connections, rooms, socket events, HTTP requests, queue
/// depth, process memory and CPU.
std::vector<std::string> default_sampled_series();

class MetricsSampler {
 public:
  /// Everything referenced must outlive the sampler.
  MetricsSampler(const Registry& registry, store::Database& database, const core::Clock& clock,
                 SamplerOptions options);

  /// BLOCKING (database; callbacks): one sample now. Returns the rows written.
  /// Errors: storage errors (nothing is written then).
  Result<std::size_t> sample_once();

  [[nodiscard]] const SamplerOptions& options() const noexcept { return options_; }

 private:
  const Registry& registry_;
  store::Database& database_;
  const core::Clock& clock_;
  SamplerOptions options_;
};

/// Samples on `workers` every interval until `timer` is cancelled (shutdown), logging failures.
/// The caller keeps `timer`, `workers`, `sampler` and `log` alive until the coroutine ends or its
/// io_context is gone, and cancels the timer on the timer's executor.
boost::asio::awaitable<void> run_sampler(boost::asio::steady_timer& timer,
                                         core::WorkerPool& workers, MetricsSampler& sampler,
                                         core::Logger& log);

/// One stored sample.
struct StoredPoint {
  std::string labels;  ///< JSON object text
  double value = 0;
  std::int64_t recorded_at = 0;
};

/// BLOCKING. Rows of series `name` recorded at or after `since_ms`, oldest first, at most `limit`.
/// Errors: storage errors.
Result<std::vector<StoredPoint>> read_series(store::Database& database, const std::string& name,
                                             std::int64_t since_ms, std::size_t limit);

}  // namespace parley::metrics
