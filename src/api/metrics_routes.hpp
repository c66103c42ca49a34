#pragma once
// GET /metrics: the Prometheus text exposition format (0.0.4) of this process's metrics.
// With PARLEY_METRICS_TOKEN set, only `Authorization: Bearer <token>` may read it; without one,
// only clients on the loopback interface whose request did not pass through a proxy.
// GET /api/admin/metrics: usage statistics (and sampled history) for administrators.

#include <functional>
#include <string>
#include <vector>

#include "api/account_routes.hpp"
#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/worker_pool.hpp"
#include "metrics/registry.hpp"
#include "net/router.hpp"
#include "store/database.hpp"

namespace parley::api {

/// This process's live numbers for the admin endpoint.
struct LiveUsage {
  std::size_t connections = 0;       ///< Socket.IO connections now
  double speech_seconds = 0;         ///< audio recognized since start
  double translated_characters = 0;  ///< translated by an engine since start
};

struct MetricsRoutesDeps {
  const AccountRoutesDeps& accounts;  ///< authentication for the admin endpoint
  const metrics::Registry& registry;
  core::WorkerPool& workers;
  store::Database& database;
  core::Logger& log;
  const core::Clock& clock;
  std::string metrics_token;              ///< empty: loopback only
  std::vector<std::string> admin_emails;  ///< lower-case (core::Config::admin_emails)
  /// Optional; called on a network thread: quick, non-blocking.
  std::function<LiveUsage()> live{};
};

/// Registers GET /metrics and GET /api/admin/metrics. `deps` must outlive the router.
void add_metrics_routes(net::Router& router, const MetricsRoutesDeps& deps);

/// Whether an unauthenticated scrape may be answered: the peer is a loopback address (IPv4,
/// IPv6, or IPv4-mapped IPv6) and no proxy header (Forwarded, X-Forwarded-For, X-Real-IP) says
/// the request came from elsewhere through a local proxy.
bool is_local_scrape(const net::RequestContext& ctx);

/// Whether `authorization` is "Bearer <token>" (scheme case-insensitive); constant-time in the
/// token's bytes. An empty `token` never matches.
bool bearer_matches(std::string_view authorization, std::string_view token);

struct AdminMetricsQuery {
  std::string series;       ///< empty: no history
  std::int64_t since = -1;  ///< -1: 24 hours ago
};

/// Parses `series` (a metric name, at most 200 bytes) and `since` (unix ms >= 0); nothing else.
/// Errors: invalid_request naming the parameter.
Result<AdminMetricsQuery> parse_admin_metrics_query(std::string_view query);

}  // namespace parley::api
