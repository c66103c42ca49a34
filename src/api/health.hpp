#pragma once
// GET /healthz (the process answers) and GET /readyz (the database answers within a deadline
// and, with several processes, the cluster bus is connected: a load balancer then sends new
// clients to processes that can reach everyone).

#include "core/cluster.hpp"
#include "core/worker_pool.hpp"
#include "net/router.hpp"
#include "store/database.hpp"

namespace parley::api {

struct HealthDeps {
  store::Database& database;
  core::WorkerPool& workers;
  const core::ClusterBus* cluster = nullptr;  ///< null: one process, nothing to check
};

void add_health_routes(net::Router& router, HealthDeps deps);

}  // namespace parley::api
