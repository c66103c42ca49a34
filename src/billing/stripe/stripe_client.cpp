#include "billing/stripe/stripe_client.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <limits>
#include <thread>

#include "core/random.hpp"
#include "outbound/openai_api.hpp"

namespace parley::billing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr std::string_view kDefaultBaseUrl = "https://api.stripe.com";
constexpr std::size_t kMaxIdLength = 255;
constexpr std::size_t kMaxIdempotencyKey = 255;
// Lists of 100 subscriptions with their items stay far below this.
constexpr std::size_t kMaxReplyBytes = 4 * 1024 * 1024;

bool id_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// "/v1/a/b_c": segments of [A-Za-z0-9_] after "/v1".
bool valid_path(std::string_view path) noexcept {
  if (!path.starts_with("/v1/") || path.size() > 1024) return false;
  std::string_view rest = path.substr(4);
  while (true) {
    const auto slash = rest.find('/');
    const std::string_view segment = rest.substr(0, slash);
    if (!is_valid_stripe_id(segment)) return false;
    if (slash == std::string_view::npos) return true;
    rest.remove_prefix(slash + 1);
  }
}

bool valid_idempotency_key(std::string_view key) noexcept {
  return !key.empty() && key.size() <= kMaxIdempotencyKey &&
         std::all_of(key.begin(), key.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

// --- Reading Stripe's JSON -------------------------------------------------------------------

const json::value* member(const json::object& object, std::string_view name) {
  const auto* v = object.if_contains(name);
  return v == nullptr || v->is_null() ? nullptr : v;
}

std::optional<std::string> string_member(const json::object& object, std::string_view name) {
  const auto* v = member(object, name);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return std::string(v->as_string());
}

std::optional<std::int64_t> int_member(const json::object& object, std::string_view name) {
  const auto* v = member(object, name);
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64() &&
      v->as_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return static_cast<std::int64_t>(v->as_uint64());
  }
  return std::nullopt;
}

// An id field that Stripe may send as the id or as the expanded object (expand[]).
std::optional<std::string> id_member(const json::object& object, std::string_view name) {
  const auto* v = member(object, name);
  if (v == nullptr) return std::nullopt;
  if (v->is_string()) return std::string(v->as_string());
  if (v->is_object()) return string_member(v->as_object(), "id");
  return std::nullopt;
}

Error malformed(std::string_view what, std::string_view field) {
  return Error(Errc::invalid_request,
               "the Stripe " + std::string(what) + " has no valid '" + std::string(field) + "'");
}

Result<void> check_type(const json::object& object, std::string_view type) {
  if (const auto* v = object.if_contains("object")) {
    if (!v->is_string() || v->as_string() != type) {
      return Error(Errc::invalid_request, "the Stripe object is not a " + std::string(type));
    }
  }
  return {};
}

// items.data[0] of a subscription, or null.
const json::object* first_item(const json::object& subscription) {
  const auto* items = member(subscription, "items");
  if (items == nullptr || !items->is_object()) return nullptr;
  const auto* data = member(items->as_object(), "data");
  if (data == nullptr || !data->is_array() || data->as_array().empty()) return nullptr;
  const auto& first = data->as_array().front();
  return first.is_object() ? &first.as_object() : nullptr;
}

// --- Stripe's error replies -------------------------------------------------------------------

struct StripeError {
  std::string type;
  std::string code;
  std::string message;  // scrubbed of the key, at most 300 characters
};

StripeError stripe_error(const outbound::HttpResponse& response, std::string_view secret_key) {
  StripeError out;
  boost::system::error_code ec;
  const auto parsed = json::parse(response.body, ec);
  if (ec || !parsed.is_object()) return out;
  const auto* error = member(parsed.as_object(), "error");
  if (error == nullptr || !error->is_object()) return out;
  const auto& e = error->as_object();
  out.type = string_member(e, "type").value_or("");
  out.code = string_member(e, "code").value_or("");
  out.message = outbound::scrub(string_member(e, "message").value_or(""), secret_key);
  return out;
}

bool retryable(const outbound::HttpResponse& response) {
  // Stripe's own hint wins, as in its SDKs.
  if (const auto hint = response.headers.find("stripe-should-retry")) {
    if (*hint == "true") return true;
    if (*hint == "false") return false;
  }
  return response.status == 409 || response.status == 429 || response.status >= 500;
}

Error map_reply_error(const outbound::HttpResponse& response, const outbound::RetryPolicy& policy,
                      std::string_view secret_key) {
  const int status = response.status;
  const StripeError error = stripe_error(response, secret_key);
  const auto with_message = [&](Errc code, std::string_view fallback) {
    return Error(code, error.message.empty() ? std::string(fallback) : error.message);
  };
  if (status == 401 || status == 403) {
    // Stripe's text shows part of the key and says nothing a client can act on.
    return Error(Errc::unavailable, "payments are not configured correctly");
  }
  if (status == 429) {
    return Error(Errc::rate_limited, "Stripe is rate limiting Parley; try again shortly",
                 std::max(outbound::next_wait(response, policy), std::chrono::milliseconds(1000)));
  }
  if (status == 409) {
    return Error(Errc::conflict, "Stripe is still processing the same request; try again");
  }
  if (error.type == "idempotency_error") {
    return with_message(Errc::conflict,
                        "this payment request was already made with different details");
  }
  if (status >= 500) {
    return Error(Errc::unavailable, "Stripe failed (HTTP " + std::to_string(status) + ")");
  }
  if (error.code == "resource_missing" && (status == 400 || status == 404)) {
    return with_message(Errc::not_found, "Stripe does not know this object");
  }
  if (status == 402 || error.type == "card_error") {
    return with_message(Errc::validation_failed, "the card was declined");
  }
  if (status == 400 && (error.type == "invalid_request_error" || error.type.empty())) {
    return with_message(Errc::validation_failed, "Stripe refused the request");
  }
  return Error(Errc::unavailable, "Stripe refused the request (HTTP " + std::to_string(status) +
                                      (error.message.empty() ? ")" : "): " + error.message));
}

Error unexpected(std::string_view why) {
  return Error(Errc::unavailable, "Stripe sent an unexpected reply (" + std::string(why) + ")");
}

// A parse error of a reply is Stripe's (or the network's) fault, not the caller's.
template <class T>
Result<T> from_reply(Result<T> parsed) {
  if (!parsed) return unexpected(parsed.error().message);
  return parsed;
}

Error bad_id(std::string_view what) {
  return Error(Errc::invalid_request,
               "invalid Stripe " + std::string(what) + " id (expected [A-Za-z0-9_], 1-255 chars)");
}

}  // namespace

bool is_valid_stripe_id(std::string_view id) noexcept {
  return !id.empty() && id.size() <= kMaxIdLength && std::all_of(id.begin(), id.end(), id_char);
}

Result<StripeSubscription> parse_subscription(const json::object& object) {
  constexpr std::string_view what = "subscription";
  if (auto ok = check_type(object, "subscription"); !ok) return ok.error();
  StripeSubscription out;
  auto id = string_member(object, "id");
  if (!id || id->empty()) return malformed(what, "id");
  out.id = std::move(*id);
  auto customer = id_member(object, "customer");
  if (!customer || customer->empty()) return malformed(what, "customer");
  out.customer = std::move(*customer);
  auto status = string_member(object, "status");
  if (!status || status->empty()) return malformed(what, "status");
  out.status = std::move(*status);
  if (const auto* cancel = member(object, "cancel_at_period_end")) {
    if (!cancel->is_bool()) return malformed(what, "cancel_at_period_end");
    out.cancel_at_period_end = cancel->as_bool();
  }
  const json::object* item = first_item(object);
  if (item == nullptr) return malformed(what, "items.data[0]");
  auto price = id_member(*item, "price");
  if (!price || price->empty()) return malformed(what, "items.data[0].price.id");
  out.price_id = std::move(*price);
  // 2023-08-16: on the subscription. Since 2025-03-31.basil: on each item only.
  auto end = int_member(object, "current_period_end");
  auto start = int_member(object, "current_period_start");
  if (!end) {
    end = int_member(*item, "current_period_end");
    start = int_member(*item, "current_period_start");
  }
  if (!end) return malformed(what, "current_period_end");
  out.current_period_end = *end;
  out.current_period_start = start.value_or(0);
  out.canceled_at = int_member(object, "canceled_at");
  out.created = int_member(object, "created").value_or(0);
  if (const auto* metadata = member(object, "metadata"); metadata && metadata->is_object()) {
    out.user_reference = string_member(metadata->as_object(), "user_id").value_or("");
  }
  return out;
}

Result<StripeCheckoutSession> parse_checkout_session(const json::object& object) {
  constexpr std::string_view what = "checkout session";
  if (auto ok = check_type(object, "checkout.session"); !ok) return ok.error();
  StripeCheckoutSession out;
  auto id = string_member(object, "id");
  if (!id || id->empty()) return malformed(what, "id");
  out.id = std::move(*id);
  out.url = string_member(object, "url").value_or("");
  out.status = string_member(object, "status").value_or("");
  out.payment_status = string_member(object, "payment_status").value_or("");
  out.customer = id_member(object, "customer").value_or("");
  out.client_reference_id = string_member(object, "client_reference_id").value_or("");
  if (const auto* subscription = member(object, "subscription")) {
    if (subscription->is_string()) {
      out.subscription_id = std::string(subscription->as_string());
    } else if (subscription->is_object()) {
      auto parsed = parse_subscription(subscription->as_object());
      if (!parsed) return parsed.error();
      out.subscription_id = parsed->id;
      out.subscription = std::move(*parsed);
    } else {
      return malformed(what, "subscription");
    }
  }
  return out;
}

StripeClient::StripeClient(outbound::HttpClient& http, StripeOptions options,
                           StripeSleepFunction sleep)
    : http_(http), options_(std::move(options)), sleep_(std::move(sleep)) {
  base_url_ = options_.base_url.empty() ? std::string(kDefaultBaseUrl) : options_.base_url;
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
  if (!sleep_) sleep_ = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
}

Result<json::object> StripeClient::request(std::string_view method, std::string_view path,
                                           const FormFields& fields,
                                           std::optional<std::string_view> idempotency_key) const {
  if (method != "GET" && method != "POST" && method != "DELETE") {
    return Error(Errc::invalid_request, "Stripe requests are GET, POST or DELETE");
  }
  if (!valid_path(path)) return Error(Errc::invalid_request, "invalid Stripe API path");
  if (idempotency_key && !valid_idempotency_key(*idempotency_key)) {
    return Error(Errc::invalid_request,
                 "invalid idempotency key (1-255 printable ASCII characters)");
  }
  if (options_.secret_key.empty()) {
    return Error(Errc::unavailable, "payments are not configured (STRIPE_SECRET_KEY is empty)");
  }

  outbound::HttpRequest http_request;
  http_request.method = std::string(method);
  http_request.url = base_url_ + std::string(path);
  const std::string form = outbound::form_encode(fields);
  if (method == "POST") {
    http_request.body = form;
    http_request.headers.add("Content-Type", "application/x-www-form-urlencoded");
    // Stripe's idempotency covers POSTs only; the same key on every attempt of this call.
    http_request.headers.add("Idempotency-Key", idempotency_key ? std::string(*idempotency_key)
                                                                : "parley-" + core::random_hex(16));
  } else if (!form.empty()) {
    http_request.url += "?" + form;
  }
  http_request.headers.add("Authorization", "Bearer " + options_.secret_key);
  http_request.headers.add("Stripe-Version", options_.api_version);
  http_request.headers.add("Accept", "application/json");
  http_request.timeout = options_.timeout;
  http_request.max_response_bytes = kMaxReplyBytes;

  outbound::RetryPolicy policy;
  policy.max_retries = std::max(options_.max_retries, 0);
  policy.initial_backoff = options_.initial_backoff;
  policy.max_backoff = options_.max_backoff;
  policy.retryable = retryable;
  auto response = outbound::send_with_retries(http_, http_request, policy, sleep_);
  if (!response) {
    switch (response.error().code) {
      case Errc::timeout:
        return Error(Errc::timeout, "Stripe did not answer in time");
      case Errc::unavailable:
        return Error(Errc::unavailable, "Stripe cannot be reached");
      case Errc::invalid_request:
        return Error(Errc::unavailable, "the Stripe API URL (STRIPE_API_BASE) is misconfigured");
      case Errc::payload_too_large:
        return unexpected("an oversized reply");
      default:
        return Error(Errc::unavailable, "the request to Stripe failed unexpectedly");
    }
  }
  if (response->status < 200 || response->status >= 300) {
    return map_reply_error(*response, policy, options_.secret_key);
  }
  boost::system::error_code ec;
  auto parsed = json::parse(response->body, ec);
  if (ec || !parsed.is_object()) return unexpected("not a JSON object");
  return std::move(parsed.as_object());
}

Result<StripeCustomer> StripeClient::create_customer(std::string_view email, std::string_view name,
                                                     std::int64_t user_id,
                                                     std::string_view idempotency_key) const {
  FormFields fields;
  if (!email.empty()) fields.emplace_back("email", std::string(email));
  if (!name.empty()) fields.emplace_back("name", std::string(name));
  fields.emplace_back("metadata[user_id]", std::to_string(user_id));
  auto reply = request("POST", "/v1/customers", fields, idempotency_key);
  if (!reply) return reply.error();
  if (auto ok = check_type(*reply, "customer"); !ok) return unexpected(ok.error().message);
  auto id = string_member(*reply, "id");
  if (!id || !is_valid_stripe_id(*id)) return unexpected("the customer has no valid 'id'");
  return StripeCustomer{std::move(*id), string_member(*reply, "email").value_or("")};
}

Result<StripeCheckoutSession> StripeClient::create_checkout_session(
    const CheckoutRequest& checkout, std::string_view idempotency_key) const {
  if (!is_valid_stripe_id(checkout.customer)) return bad_id("customer");
  if (!is_valid_stripe_id(checkout.price_id)) return bad_id("price");
  if (checkout.success_url.empty()) {
    return Error(Errc::invalid_request, "a checkout needs a success URL");
  }
  const std::string user = std::to_string(checkout.user_id);
  FormFields fields{
      {"mode", "subscription"},
      {"customer", checkout.customer},
      {"line_items[0][price]", checkout.price_id},
      {"line_items[0][quantity]", "1"},
      {"client_reference_id", user},
      {"success_url", checkout.success_url},
  };
  if (!checkout.cancel_url.empty()) fields.emplace_back("cancel_url", checkout.cancel_url);
  fields.emplace_back("metadata[user_id]", user);
  fields.emplace_back("subscription_data[metadata][user_id]", user);
  auto reply = request("POST", "/v1/checkout/sessions", fields, idempotency_key);
  if (!reply) return reply.error();
  return from_reply(parse_checkout_session(*reply));
}

Result<StripeCheckoutSession> StripeClient::retrieve_checkout_session(std::string_view id) const {
  if (!is_valid_stripe_id(id)) return bad_id("checkout session");
  auto reply =
      request("GET", "/v1/checkout/sessions/" + std::string(id), {{"expand[]", "subscription"}});
  if (!reply) return reply.error();
  return from_reply(parse_checkout_session(*reply));
}

Result<StripeSubscription> StripeClient::retrieve_subscription(std::string_view id) const {
  if (!is_valid_stripe_id(id)) return bad_id("subscription");
  auto reply = request("GET", "/v1/subscriptions/" + std::string(id));
  if (!reply) return reply.error();
  return from_reply(parse_subscription(*reply));
}

Result<StripeSubscription> StripeClient::set_cancel_at_period_end(
    std::string_view id, bool cancel, std::string_view idempotency_key) const {
  if (!is_valid_stripe_id(id)) return bad_id("subscription");
  auto reply = request("POST", "/v1/subscriptions/" + std::string(id),
                       {{"cancel_at_period_end", cancel ? "true" : "false"}}, idempotency_key);
  if (!reply) return reply.error();
  return from_reply(parse_subscription(*reply));
}

Result<StripeSubscription> StripeClient::cancel_subscription_now(std::string_view id) const {
  if (!is_valid_stripe_id(id)) return bad_id("subscription");
  auto reply = request("DELETE", "/v1/subscriptions/" + std::string(id));
  if (!reply) return reply.error();
  return from_reply(parse_subscription(*reply));
}

Result<StripePortalSession> StripeClient::create_portal_session(std::string_view customer,
                                                                std::string_view return_url) const {
  if (!is_valid_stripe_id(customer)) return bad_id("customer");
  FormFields fields{{"customer", std::string(customer)}};
  if (!return_url.empty()) fields.emplace_back("return_url", std::string(return_url));
  auto reply = request("POST", "/v1/billing_portal/sessions", fields);
  if (!reply) return reply.error();
  if (auto ok = check_type(*reply, "billing_portal.session"); !ok) {
    return unexpected(ok.error().message);
  }
  auto id = string_member(*reply, "id");
  auto url = string_member(*reply, "url");
  if (!id || id->empty()) return unexpected("the portal session has no 'id'");
  if (!url || url->empty()) return unexpected("the portal session has no 'url'");
  return StripePortalSession{std::move(*id), std::move(*url)};
}

}  // namespace parley::billing
