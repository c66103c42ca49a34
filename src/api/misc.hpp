#pragma once
// Small public endpoints: GET /api/config (what a client needs to know before signing in), and
// the pages Stripe Checkout returns to, which lead into the web client's plan screen.

#include "core/config.hpp"
#include "net/router.hpp"

namespace parley::api {

/// Registers GET /api/config. Exposes only public values (never a secret key).
void add_misc_routes(net::Router& router, const core::Config& config);

/// GET /payment/success?session_id=… and GET /payment/cancel (the return URLs Parley gives
/// Stripe Checkout, on FRONTEND_URL): 302 to the web client's `/#/plan?…`, which verifies the
/// payment. A session id that is not Stripe's shape is dropped rather than echoed.
void add_checkout_return_routes(net::Router& router);

}  // namespace parley::api
