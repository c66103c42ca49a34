#pragma once
// GET /api/admin/logs: the debug_log table for administrators (PARLEY_ADMIN_EMAILS), newest
// first, with filters and keyset pagination. See docs/api.md.

#include <string>
#include <vector>

#include "api/account_routes.hpp"
#include "core/log.hpp"
#include "core/worker_pool.hpp"
#include "net/router.hpp"
#include "store/database.hpp"
#include "store/debug_log/debug_log_reader.hpp"

namespace parley::api {

struct AdminLogRoutesDeps {
  const AccountRoutesDeps& accounts;      ///< authentication
  std::vector<std::string> admin_emails;  ///< lower-case (core::Config::admin_emails)
  store::Database& database;
  core::WorkerPool& workers;
  core::Logger& log;
};

/// Registers GET /api/admin/logs. `deps` must outlive the router.
void add_admin_log_routes(net::Router& router, const AdminLogRoutesDeps& deps);

/// Parses the query string of GET /api/admin/logs: level (minimum: debug, info, warning, error),
/// since and until (unix ms, since < until), request_id and source (1..200 characters), limit
/// (1..1000, default 100), before_id (>= 1). Each at most once; nothing else.
/// Errors: invalid_request naming the parameter.
Result<store::DebugLogQuery> parse_log_query(std::string_view query);

}  // namespace parley::api
