#pragma once
// Parley's client of the Stripe API: customers, Checkout Sessions for subscriptions, subscriptions
// and customer-portal sessions, over libcurl (outbound::HttpClient) the way Stripe expects them:
//
// - `application/x-www-form-urlencoded` parameters with Stripe's nested keys, already flattened by
//   the caller ("line_items[0][price]", "metadata[user_id]", "expand[]"): the body of a POST, the
//   query string of a GET or DELETE;
// - `Authorization: Bearer <secret key>` and `Stripe-Version: 2023-08-16` on every request, so
//   replies have the 2023-08-16 shapes whatever the account's default version
//   (shared/apis/stripe/API-VERSIONS.md);
// - an `Idempotency-Key` on every POST: the caller's (derived from what the request does, so a
//   repeated action is one action at Stripe), or a random one per call; every retry of a call
//   sends the same key, which is what makes retrying a POST safe;
// - retries (exponential backoff with jitter, Retry-After honoured, both capped by max_backoff)
//   after a timeout, a refused or broken connection, 409 (another request with the key is in
//   flight), 429 and 5xx, unless Stripe's `Stripe-Should-Retry: false` says otherwise (and
//   `Stripe-Should-Retry: true` makes any reply retryable).
//
// Errors (every message is safe to show a client: the secret key never appears in one, and no
// message is built from a request):
// - Errc::validation_failed: Stripe refused the parameters (400 invalid_request_error other than
//   resource_missing, e.g. parameter_unknown, parameter_missing) or the card (402 card_error,
//   with the decline message): Stripe's own message, scrubbed of the key, at most 300 chars;
// - Errc::not_found: code resource_missing (404 for an id in the path, 400 for an id in a
//   parameter, e.g. "No such price: 'price_x'"), with Stripe's message;
// - Errc::conflict: idempotency_error (the key was used before with other parameters or another
//   endpoint), or a 409 that outlasted the retries;
// - Errc::rate_limited: 429 after the retries, retry_after = what the last reply asked (or the
//   next backoff), at least 1 s;
// - Errc::unavailable: 401/403 ("payments are not configured correctly": the key is wrong,
//   revoked or lacks a permission; Stripe's text, which shows part of the key, is dropped), no
//   secret key configured, 5xx or a refused connection after the retries, a malformed or
//   unexpected reply, a misconfigured STRIPE_API_BASE, any other status;
// - Errc::timeout: the last attempt timed out;
// - Errc::invalid_request: a bad argument (an id or path outside [A-Za-z0-9_], a bad
//   idempotency key, an unknown method): nothing is sent. Ids are checked because they are put
//   in URL paths ("sub_1/../../v1/customers" must not become another request).
//
// Thread-safety: a StripeClient is immutable after construction; every method may be called
// concurrently from any number of threads. BLOCKING: each call waits for Stripe (up to
// (1 + max_retries) timeouts plus the waits between attempts), so call it from the worker pool,
// never from a network thread. `http` must outlive the client.

#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "outbound/http_client.hpp"

namespace parley::billing {

/// The Stripe API version Parley is written against and sends as Stripe-Version.
inline constexpr std::string_view kStripeApiVersion = "2023-08-16";

struct StripeOptions {
  /// STRIPE_API_BASE: "https://api.stripe.com", or a local fake; paths start with /v1/. A
  /// trailing '/' is ignored.
  std::string base_url = "https://api.stripe.com";
  /// STRIPE_SECRET_KEY (sk_... or a restricted rk_...). Empty: every call fails with unavailable.
  std::string secret_key;
  std::string api_version = std::string(kStripeApiVersion);
  /// Deadline of one attempt.
  std::chrono::milliseconds timeout{15000};
  /// Extra attempts after a retryable failure (see above).
  int max_retries = 2;
  /// First wait between attempts when Stripe gives no Retry-After; doubles at each attempt.
  std::chrono::milliseconds initial_backoff{500};
  /// Cap on any wait between attempts, also on a Retry-After Stripe asks for.
  std::chrono::milliseconds max_backoff{5000};
};

/// Form parameters with flattened keys, in order: {"line_items[0][price]", "price_123"}.
using FormFields = std::vector<std::pair<std::string, std::string>>;

struct StripeCustomer {
  std::string id;     ///< cus_...
  std::string email;  ///< empty when Stripe has none
};

/// What Parley reads of a Stripe subscription, from either API shape.
struct StripeSubscription {
  std::string id;        ///< sub_...
  std::string customer;  ///< cus_... (also when the customer was expanded)
  /// incomplete, incomplete_expired, trialing, active, past_due, canceled, unpaid or paused.
  std::string status;
  std::string price_id;  ///< items.data[0].price.id
  bool cancel_at_period_end = false;
  /// Unix seconds. 2023-08-16 has them on the subscription; since 2025-03-31.basil (dahlia
  /// included) they are only on each item: then items.data[0]'s are used.
  std::int64_t current_period_start = 0;
  std::int64_t current_period_end = 0;
  std::optional<std::int64_t> canceled_at;  ///< when a cancellation was requested
  std::int64_t created = 0;
  /// metadata.user_id, as Parley sets it at checkout (subscription_data[metadata][user_id]);
  /// empty when absent.
  std::string user_reference;
};

struct StripeCheckoutSession {
  std::string id;              ///< cs_...
  std::string url;             ///< where to send the customer; empty once complete or expired
  std::string status;          ///< open, complete or expired (empty if Stripe sent null)
  std::string payment_status;  ///< paid, unpaid or no_payment_required
  std::string customer;        ///< cus_..., empty when none yet
  std::string client_reference_id;
  std::optional<std::string> subscription_id;      ///< once the customer paid
  std::optional<StripeSubscription> subscription;  ///< when Stripe sent it expanded
};

struct StripePortalSession {
  std::string id;   ///< bps_...
  std::string url;  ///< the customer portal, valid for a short while
};

/// A subscription Checkout for one Parley user.
struct CheckoutRequest {
  std::string customer;  ///< the user's Stripe customer (cus_...)
  std::string price_id;  ///< STRIPE_PRICE_MONTHLY or STRIPE_PRICE_YEARLY
  /// Sent as client_reference_id, metadata[user_id] and subscription_data[metadata][user_id], so
  /// the session, its events and the subscription all name the user.
  std::int64_t user_id = 0;
  /// Where Stripe sends the customer back; "{CHECKOUT_SESSION_ID}" is replaced by Stripe.
  std::string success_url;
  std::string cancel_url;
};

/// A subscription object as Stripe sends it (API reply or event `data.object`), in the
/// 2023-08-16 shape or the 2025-03-31.basil/dahlia one. Errors: Errc::invalid_request naming the
/// missing or mistyped field (not an object of type "subscription", no id, customer, status,
/// period end or price).
Result<StripeSubscription> parse_subscription(const boost::json::object& object);

/// A checkout.session object (both shapes); `subscription` may be an id, an expanded object or
/// null. Errors: Errc::invalid_request naming the field.
Result<StripeCheckoutSession> parse_checkout_session(const boost::json::object& object);

/// True for what may be put in a URL path as a Stripe id: 1 to 255 of [A-Za-z0-9_].
bool is_valid_stripe_id(std::string_view id) noexcept;

/// Waits between attempts. Injected so tests can observe or shorten waits.
using StripeSleepFunction = std::function<void(std::chrono::milliseconds)>;

class StripeClient {
 public:
  /// `sleep` (between attempts) defaults to std::this_thread::sleep_for.
  StripeClient(outbound::HttpClient& http, StripeOptions options, StripeSleepFunction sleep = {});

  /// POST /v1/customers: email (when not empty), name (when not empty), metadata[user_id].
  Result<StripeCustomer> create_customer(std::string_view email, std::string_view name,
                                         std::int64_t user_id,
                                         std::string_view idempotency_key) const;

  /// POST /v1/checkout/sessions in subscription mode: one line item (the price, quantity 1).
  Result<StripeCheckoutSession> create_checkout_session(const CheckoutRequest& checkout,
                                                        std::string_view idempotency_key) const;

  /// GET /v1/checkout/sessions/{id}?expand[]=subscription.
  Result<StripeCheckoutSession> retrieve_checkout_session(std::string_view id) const;

  /// GET /v1/subscriptions/{id}.
  Result<StripeSubscription> retrieve_subscription(std::string_view id) const;

  /// POST /v1/subscriptions/{id} cancel_at_period_end=true|false: cancel at the end of the paid
  /// period, or take that back.
  Result<StripeSubscription> set_cancel_at_period_end(std::string_view id, bool cancel,
                                                      std::string_view idempotency_key) const;

  /// DELETE /v1/subscriptions/{id}: cancel now (an account being deleted). A subscription
  /// already canceled is not_found, as Stripe says.
  Result<StripeSubscription> cancel_subscription_now(std::string_view id) const;

  /// POST /v1/billing_portal/sessions: customer, return_url (when not empty).
  Result<StripePortalSession> create_portal_session(std::string_view customer,
                                                    std::string_view return_url) const;

  /// Any call: `method` GET, POST or DELETE; `path` such as "/v1/customers/cus_123" (only
  /// [A-Za-z0-9_] between the slashes); `fields` form-encoded into the body (POST) or the query
  /// (GET, DELETE). `idempotency_key` (POST only; 1 to 255 printable ASCII characters) is sent on
  /// every attempt; without one a POST gets a random key for this call. Returns the reply's JSON
  /// object; errors as described at the top of this file.
  Result<boost::json::object> request(
      std::string_view method, std::string_view path, const FormFields& fields = {},
      std::optional<std::string_view> idempotency_key = std::nullopt) const;

 private:
  outbound::HttpClient& http_;
  StripeOptions options_;
  std::string base_url_;
  StripeSleepFunction sleep_;
};

}  // namespace parley::billing
