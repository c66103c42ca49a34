#pragma once
// Subscriptions through Stripe Checkout (the original's routes/payment.py), and what Stripe tells
// us about them by webhook. Payment state only ever comes from Stripe: a client's word (a
// session id, a redirect) is checked by asking Stripe, and webhooks are believed only with a valid
// signature. Events may arrive twice or out of order: each event id is processed once, and a
// subscription's state is applied only if it is newer than what is stored (BillingStore::apply).
//
// Thread-safety: thread-safe. Every method BLOCKS (Stripe over HTTP, the database): run them on
// workers.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/user_store.hpp"
#include "billing/core/billing_store.hpp"
#include "billing/core/usage_meter.hpp"
#include "billing/plan_quotas.hpp"
#include "billing/stripe/stripe_client.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/log.hpp"

namespace parley::billing {

struct BillingSettings {
  /// FRONTEND_URL: Checkout sends the customer back to <frontend>/payment/success?session_id=...
  /// or <frontend>/payment/cancel; the billing portal returns to <frontend>/account.
  std::string frontend_url;
  /// STRIPE_WEBHOOK_SECRET (several while a secret is rolled).
  std::vector<std::string> webhook_secrets;
  std::chrono::seconds signature_tolerance{300};
};

struct CheckoutStarted {
  std::string session_id;
  std::string url;
};

/// A user's subscription and what it gives them today.
struct BillingStatus {
  SubscriptionState state;
  PlanLimits limits;
  std::int64_t speech_seconds_used = 0;
  std::int64_t translated_chars_used = 0;
};

struct WebhookOutcome {
  std::string event_id;
  std::string type;
  bool duplicate = false;  ///< already processed: nothing done
  std::string outcome;     ///< what was done, for the log
};

class BillingService {
 public:
  /// Everything referenced must outlive the service.
  BillingService(StripeClient& stripe, BillingStore& store, PlanQuotas& quotas, UsageMeter& meter,
                 auth::UserStore& users, const core::Clock& clock, core::Logger& log,
                 BillingSettings settings);

  /// A Checkout session for `plan` ("monthly" or "yearly"); the user's Stripe customer is
  /// created on first use and reused after. A double click within a minute gets the same
  /// session (idempotency key). Errors: validation_failed (unknown plan), forbidden (a guest),
  /// conflict (already subscribed: use the billing portal), unavailable (payments not set up,
  /// Stripe down), Stripe's errors.
  Result<CheckoutStarted> checkout(std::int64_t user_id, std::string_view plan);

  /// After the redirect back: asks Stripe about the session (which must be this user's) and
  /// takes its subscription's state. Errors: not_found (no such session, or another user's),
  /// conflict (not paid yet), Stripe's errors.
  Result<BillingStatus> verify_payment(std::int64_t user_id, std::string_view session_id);

  Result<BillingStatus> status(std::int64_t user_id);

  /// Cancels at the end of the paid period (the plan stays until then).
  /// Errors: not_found (no subscription), Stripe's errors.
  Result<BillingStatus> cancel(std::int64_t user_id);

  /// A billing-portal session URL. Errors: not_found (never subscribed).
  Result<std::string> portal(std::int64_t user_id);

  /// Called before an account is deleted: returns what to do once the deletion committed, which
  /// is to cancel the user's live subscription at once (nobody is billed for a deleted
  /// account). BLOCKS (the database). A cancellation that fails even after the client's retries
  /// is logged (`billing_cancel_after_deletion_failed`, with the subscription id) for an operator.
  std::function<void()> prepare_account_removal(std::int64_t user_id);

  /// A webhook delivery: `signature` is the Stripe-Signature header, `raw_body` the body as
  /// received. Errors: invalid_request (bad signature, stale, malformed event: Stripe should
  /// not retry), unavailable / storage errors (try again: Stripe retries non-2xx replies).
  Result<WebhookOutcome> handle_webhook(std::string_view signature, std::string_view raw_body);

 private:
  Result<std::string> customer_for(const auth::User& user);
  /// Reads the subscription from Stripe and stores it for `user_id` (as of now).
  Result<std::string> sync_subscription(std::int64_t user_id, std::string_view subscription_id);
  Result<bool> store_snapshot(std::int64_t user_id, const StripeSubscription& subscription,
                              std::int64_t as_of);
  Result<std::string> dispatch(std::string_view type, const boost::json::object& object,
                               std::int64_t created);
  /// The Parley user a subscription or customer belongs to (metadata first, then the customer).
  Result<std::optional<std::int64_t>> owner_of(std::string_view user_reference,
                                               std::string_view customer);
  std::int64_t now_seconds() const { return clock_.now_ms() / 1000; }

  StripeClient& stripe_;
  BillingStore& store_;
  PlanQuotas& quotas_;
  UsageMeter& meter_;
  auth::UserStore& users_;
  const core::Clock& clock_;
  core::Logger& log_;
  BillingSettings settings_;
};

}  // namespace parley::billing
