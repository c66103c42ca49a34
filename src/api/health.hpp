#pragma once
// GET /healthz (the process answers) and GET /readyz (the database answers within a deadline).

#include "core/worker_pool.hpp"
#include "net/router.hpp"
#include "store/database.hpp"

namespace parley::api {

struct HealthDeps {
  store::Database& database;
  core::WorkerPool& workers;
};

void add_health_routes(net::Router& router, HealthDeps deps);

}  // namespace parley::api
