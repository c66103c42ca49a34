#pragma once
// Small public endpoints: GET /api/config (what a client needs to know before signing in).

#include "core/config.hpp"
#include "net/router.hpp"

namespace parley::api {

/// Registers GET /api/config. Exposes only public values (never a secret key).
void add_misc_routes(net::Router& router, const core::Config& config);

}  // namespace parley::api
