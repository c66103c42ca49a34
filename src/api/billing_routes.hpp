#pragma once
// Payments over HTTP (the original's routes/payment.py paths):
//   POST /api/create-checkout-session   {plan: "monthly"|"yearly"} → {sessionId, session_id, url}
//   POST /api/verify-payment            {session_id} → the billing status (asks Stripe)
//   POST /api/check-subscription-status → the billing status
//   POST /api/cancel-subscription       → the billing status (cancels at the period end)
//   POST /api/billing-portal            → {url}
//   POST /api/stripe/webhook            Stripe's events, signed (Stripe-Signature), no login
// The billing status: {plan, status, is_subscribed, cancel_at_period_end, current_period_end,
// limits: {...}, usage: {speech_seconds, translated_chars}}. Without STRIPE_SECRET_KEY every
// route answers 503 `unavailable`.

#include "api/account_routes.hpp"
#include "billing/billing_service.hpp"
#include "core/log.hpp"
#include "core/worker_pool.hpp"
#include "net/router.hpp"

namespace parley::api {

struct BillingRoutesDeps {
  const AccountRoutesDeps& accounts;  ///< for authenticate()
  billing::BillingService* billing;   ///< null: payments are not configured
  core::WorkerPool& workers;
  core::Logger& log;
};

/// Registers the payment routes. `deps` must outlive the router.
void add_billing_routes(net::Router& router, const BillingRoutesDeps& deps);

/// The billing status as the routes show it.
boost::json::object to_json(const billing::BillingStatus& status);

}  // namespace parley::api
