// The Stripe client against tests/fakes/stripe.mjs, a local fake of the Stripe API written from
// shared/apis/stripe/ (it refuses parameters the 2023-08-16 spec does not know): every request
// checked field by field, retries and their idempotency keys, error mapping, and the parsing of
// subscriptions in both API shapes (the events copied from shared/apis/stripe/events/ into
// data/).

#include "billing/stripe/stripe_client.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/fake_service.hpp"

namespace parley::billing {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;
using parley::testing::SleepRecorder;

constexpr const char* kKey = "sk_test_parleyClientTest0123456789";

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

json::object load_event(const std::string& name) {
  std::ifstream in(std::string(STRIPE_TEST_DATA) + "/" + name);
  if (!in) throw std::runtime_error("cannot read " + name);
  std::stringstream text;
  text << in.rdbuf();
  return json::parse(text.str()).as_object();
}

class StripeClientTest : public parley::testing::FakeServiceTest {
 protected:
  static void SetUpTestSuite() {
    start_fake({NODE_BINARY, FAKE_STRIPE}, {{"PATH", "/usr/bin:/bin"}, {"FAKE_STRIPE_KEY", kKey}});
  }
  static void TearDownTestSuite() { stop_fake(); }

  static StripeOptions options() {
    StripeOptions o;
    o.base_url = origin();
    o.secret_key = kKey;
    o.timeout = 5s;
    o.initial_backoff = 10ms;
    o.max_retries = 2;
    return o;
  }

  static json::value control(const std::string& path, const json::object& body) {
    return fake_->control(path, json::serialize(body));
  }

  // The decoded [name, value] pairs the fake received, in order.
  static FormFields fields_of(const json::value& recorded) {
    FormFields out;
    for (const auto& pair : recorded.at("fields").as_array()) {
      out.emplace_back(std::string(pair.as_array()[0].as_string()),
                       std::string(pair.as_array()[1].as_string()));
    }
    return out;
  }
  static std::string header_of(const json::value& recorded, std::string_view name) {
    const auto* v = recorded.at("headers").as_object().if_contains(name);
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
  }

  static StripeCustomer customer(StripeClient& client, std::int64_t user = 42) {
    auto c = client.create_customer("ada@example.com", "Ada Lovelace", user,
                                    "customer-" + std::to_string(user));
    EXPECT_TRUE(c) << c.error().message;
    return c ? *c : StripeCustomer{};
  }

  static CheckoutRequest checkout_for(const StripeCustomer& c) {
    return CheckoutRequest{
        c.id, "price_monthly", 42,
        "https://parley.example/billing/success?session_id={CHECKOUT_SESSION_ID}",
        "https://parley.example/billing/cancel"};
  }

  // A paid subscription for user 42 (Checkout completed through the fake's control API).
  static StripeSubscription paid_subscription(StripeClient& client) {
    const auto c = customer(client);
    auto session = client.create_checkout_session(checkout_for(c), "checkout-42");
    EXPECT_TRUE(session) << session.error().message;
    control("/__checkout/complete", {{"session", session->id}});
    auto done = client.retrieve_checkout_session(session->id);
    EXPECT_TRUE(done && done->subscription);
    return *done->subscription;
  }
};

TEST_F(StripeClientTest, CreateCustomerSendsStripesFormFieldByField) {
  StripeClient client(*http_, options());
  auto result = client.create_customer("ada+test@example.com", "Ada Lovelace", 42, "customer-42");
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_TRUE(result->id.starts_with("cus_")) << result->id;
  EXPECT_EQ(result->email, "ada+test@example.com");

  const auto recorded = requests();
  ASSERT_EQ(recorded.size(), 1U);
  const auto& r = recorded[0];
  EXPECT_EQ(r.at("method").as_string(), "POST");
  EXPECT_EQ(r.at("path").as_string(), "/v1/customers");
  EXPECT_EQ(r.at("query").as_string(), "");
  EXPECT_EQ(header_of(r, "authorization"), std::string("Bearer ") + kKey);
  EXPECT_EQ(header_of(r, "stripe-version"), "2023-08-16");
  EXPECT_EQ(header_of(r, "content-type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(header_of(r, "idempotency-key"), "customer-42");
  EXPECT_EQ(header_of(r, "accept"), "application/json");
  EXPECT_EQ(r.at("body").as_string(),
            "email=ada%2Btest%40example.com&name=Ada%20Lovelace&metadata%5Buser_id%5D=42");
  EXPECT_EQ(fields_of(r), (FormFields{{"email", "ada+test@example.com"},
                                      {"name", "Ada Lovelace"},
                                      {"metadata[user_id]", "42"}}));
  EXPECT_EQ(r.at("params").at("metadata").at("user_id").as_string(), "42");

  // Without a name (or an e-mail), the field is left out: Stripe refuses empty strings.
  ASSERT_TRUE(client.create_customer("", "", 7, "customer-7"));
  EXPECT_EQ(fields_of(requests()[1]), (FormFields{{"metadata[user_id]", "7"}}));
}

TEST_F(StripeClientTest, CheckoutSessionSendsEveryParameter) {
  StripeClient client(*http_, options());
  const auto c = customer(client);
  auto session = client.create_checkout_session(checkout_for(c), "checkout-42-monthly");
  ASSERT_TRUE(session) << session.error().message;
  EXPECT_TRUE(session->id.starts_with("cs_test_")) << session->id;
  EXPECT_EQ(session->status, "open");
  EXPECT_EQ(session->payment_status, "unpaid");
  EXPECT_EQ(session->customer, c.id);
  EXPECT_EQ(session->client_reference_id, "42");
  EXPECT_TRUE(contains(session->url, "/c/pay/" + session->id)) << session->url;
  EXPECT_FALSE(session->subscription_id);
  EXPECT_FALSE(session->subscription);

  const auto recorded = requests();
  ASSERT_EQ(recorded.size(), 2U);
  const auto& r = recorded[1];
  EXPECT_EQ(r.at("method").as_string(), "POST");
  EXPECT_EQ(r.at("path").as_string(), "/v1/checkout/sessions");
  EXPECT_EQ(header_of(r, "idempotency-key"), "checkout-42-monthly");
  EXPECT_EQ(header_of(r, "stripe-version"), "2023-08-16");
  EXPECT_EQ(fields_of(r),
            (FormFields{{"mode", "subscription"},
                        {"customer", c.id},
                        {"line_items[0][price]", "price_monthly"},
                        {"line_items[0][quantity]", "1"},
                        {"client_reference_id", "42"},
                        {"success_url",
                         "https://parley.example/billing/success?session_id={CHECKOUT_SESSION_ID}"},
                        {"cancel_url", "https://parley.example/billing/cancel"},
                        {"metadata[user_id]", "42"},
                        {"subscription_data[metadata][user_id]", "42"}}));
  EXPECT_TRUE(contains(r.at("body").as_string(), "line_items%5B0%5D%5Bprice%5D=price_monthly"));
  EXPECT_TRUE(contains(r.at("body").as_string(),
                       "success_url=https%3A%2F%2Fparley.example%2Fbilling%2Fsuccess%3Fsession_"
                       "id%3D%7BCHECKOUT_SESSION_ID%7D"));
  const auto& params = r.at("params").as_object();
  EXPECT_EQ(params.at("line_items").at("0").at("price").as_string(), "price_monthly");
  EXPECT_EQ(params.at("subscription_data").at("metadata").at("user_id").as_string(), "42");
}

TEST_F(StripeClientTest, RetrieveCheckoutSessionExpandsTheSubscription) {
  StripeClient client(*http_, options());
  const auto c = customer(client);
  auto session = client.create_checkout_session(checkout_for(c), "checkout-42");
  ASSERT_TRUE(session) << session.error().message;
  auto open = client.retrieve_checkout_session(session->id);
  ASSERT_TRUE(open) << open.error().message;
  EXPECT_EQ(open->status, "open");
  EXPECT_FALSE(open->subscription_id);

  control("/__clock", {{"now", 1767225600}});  // 2026-01-01T00:00:00Z
  control("/__checkout/complete", {{"session", session->id}});
  auto done = client.retrieve_checkout_session(session->id);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(done->status, "complete");
  EXPECT_EQ(done->payment_status, "paid");
  EXPECT_TRUE(done->url.empty());
  ASSERT_TRUE(done->subscription_id);
  ASSERT_TRUE(done->subscription);
  const auto& sub = *done->subscription;
  EXPECT_EQ(sub.id, *done->subscription_id);
  EXPECT_TRUE(sub.id.starts_with("sub_"));
  EXPECT_EQ(sub.customer, c.id);
  EXPECT_EQ(sub.status, "active");
  EXPECT_EQ(sub.price_id, "price_monthly");
  EXPECT_FALSE(sub.cancel_at_period_end);
  EXPECT_EQ(sub.current_period_start, 1767225600);
  EXPECT_EQ(sub.current_period_end, 1769904000);  // 2026-02-01
  EXPECT_EQ(sub.created, 1767225600);
  EXPECT_FALSE(sub.canceled_at);
  EXPECT_EQ(sub.user_reference, "42");

  const auto recorded = requests();
  const auto& get = recorded.back();
  EXPECT_EQ(get.at("method").as_string(), "GET");
  EXPECT_EQ(get.at("path").as_string(), "/v1/checkout/sessions/" + session->id);
  EXPECT_EQ(get.at("query").as_string(), "expand%5B%5D=subscription");
  EXPECT_EQ(get.at("body").as_string(), "");
  EXPECT_EQ(header_of(get, "idempotency-key"), "") << "no idempotency key on a GET";
  EXPECT_EQ(fields_of(get), (FormFields{{"expand[]", "subscription"}}));
}

TEST_F(StripeClientTest, SubscriptionsAreRetrievedCanceledAtPeriodEndAndCanceledNow) {
  StripeClient client(*http_, options());
  const auto paid = paid_subscription(client);
  auto got = client.retrieve_subscription(paid.id);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(got->id, paid.id);
  EXPECT_EQ(got->current_period_end, paid.current_period_end);
  EXPECT_EQ(requests().back().at("query").as_string(), "");

  auto canceled = client.set_cancel_at_period_end(paid.id, true, "cancel-" + paid.id);
  ASSERT_TRUE(canceled) << canceled.error().message;
  EXPECT_TRUE(canceled->cancel_at_period_end);
  EXPECT_EQ(canceled->status, "active");
  EXPECT_TRUE(canceled->canceled_at);
  auto r = requests().back();
  EXPECT_EQ(r.at("path").as_string(), "/v1/subscriptions/" + paid.id);
  EXPECT_EQ(fields_of(r), (FormFields{{"cancel_at_period_end", "true"}}));
  EXPECT_EQ(header_of(r, "idempotency-key"), "cancel-" + paid.id);

  auto resumed = client.set_cancel_at_period_end(paid.id, false, "resume-" + paid.id);
  ASSERT_TRUE(resumed) << resumed.error().message;
  EXPECT_FALSE(resumed->cancel_at_period_end);
  EXPECT_FALSE(resumed->canceled_at);
  EXPECT_EQ(fields_of(requests().back()), (FormFields{{"cancel_at_period_end", "false"}}));

  auto ended = client.cancel_subscription_now(paid.id);
  ASSERT_TRUE(ended) << ended.error().message;
  EXPECT_EQ(ended->status, "canceled");
  r = requests().back();
  EXPECT_EQ(r.at("method").as_string(), "DELETE");
  EXPECT_EQ(r.at("path").as_string(), "/v1/subscriptions/" + paid.id);
  EXPECT_EQ(r.at("body").as_string(), "");
  auto again = client.cancel_subscription_now(paid.id);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::not_found);
}

TEST_F(StripeClientTest, PortalSessionGetsAGeneratedIdempotencyKey) {
  StripeClient client(*http_, options());
  const auto c = customer(client);
  auto portal = client.create_portal_session(c.id, "https://parley.example/account");
  ASSERT_TRUE(portal) << portal.error().message;
  EXPECT_TRUE(portal->id.starts_with("bps_")) << portal->id;
  EXPECT_TRUE(contains(portal->url, "/p/session/")) << portal->url;
  const auto r = requests().back();
  EXPECT_EQ(r.at("path").as_string(), "/v1/billing_portal/sessions");
  EXPECT_EQ(fields_of(r),
            (FormFields{{"customer", c.id}, {"return_url", "https://parley.example/account"}}));
  const std::string key = header_of(r, "idempotency-key");
  EXPECT_TRUE(key.starts_with("parley-")) << key;
  EXPECT_EQ(key.size(), 7U + 32U);
  ASSERT_TRUE(client.create_portal_session(c.id, ""));
  EXPECT_EQ(fields_of(requests().back()), (FormFields{{"customer", c.id}}));
  EXPECT_NE(header_of(requests().back(), "idempotency-key"), key) << "a new key per call";
}

TEST_F(StripeClientTest, RetriesAfter500And429SendTheSameIdempotencyKey) {
  script(R"({"responses": [{"status": 500}, {"status": 429, "headers": {"retry-after": "1"}}]})");
  SleepRecorder sleeps;
  StripeClient client(*http_, options(), sleeps.function());
  auto result = client.create_customer("ada@example.com", "Ada", 42, "customer-42");
  ASSERT_TRUE(result) << result.error().message;
  const auto recorded = requests();
  ASSERT_EQ(recorded.size(), 3U);
  for (const auto& r : recorded) {
    EXPECT_EQ(header_of(r, "idempotency-key"), "customer-42");
    EXPECT_EQ(r.at("body").as_string(), recorded[0].at("body").as_string());
  }
  ASSERT_EQ(sleeps.waits.size(), 2U);
  EXPECT_GE(sleeps.waits[0], 5ms);  // our backoff, with jitter in [backoff/2, backoff]
  EXPECT_LE(sleeps.waits[0], 10ms);
  EXPECT_EQ(sleeps.waits[1], 1000ms);  // Stripe's Retry-After
  // The same call again is the same customer: Stripe replays the saved result.
  auto again = client.create_customer("ada@example.com", "Ada", 42, "customer-42");
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->id, result->id);
}

TEST_F(StripeClientTest, ADroppedConnectionIsRetriedWithTheGeneratedKey) {
  StripeClient client(*http_, options());
  const auto c = customer(client);
  script(R"({"responses": [{"drop": true}]})");
  SleepRecorder sleeps;
  StripeClient retrying(*http_, options(), sleeps.function());
  auto portal = retrying.create_portal_session(c.id, "https://parley.example/account");
  ASSERT_TRUE(portal) << portal.error().message;
  const auto recorded = requests();
  ASSERT_EQ(recorded.size(), 3U);
  EXPECT_EQ(header_of(recorded[1], "idempotency-key"), header_of(recorded[2], "idempotency-key"));
  EXPECT_EQ(sleeps.waits.size(), 1U);
}

TEST_F(StripeClientTest, ATimedOutCallIsRetriedAndStripesResultReplayed) {
  // The first attempt times out but Stripe finishes it; the retry gets that result, not a second
  // customer. Real waits: the retry must come after the fake has finished.
  script(R"({"responses": [{"delay_ms": 600}]})");
  auto o = options();
  o.timeout = 300ms;
  o.initial_backoff = 1000ms;  // first wait in [500, 1000] ms: after the 600 ms
  StripeClient client(*http_, o);
  auto result = client.create_customer("slow@example.com", "", 9, "customer-9");
  ASSERT_TRUE(result) << result.error().message;
  ASSERT_EQ(requests().size(), 2U);
  StripeClient plain(*http_, options());
  auto again = plain.create_customer("slow@example.com", "", 9, "customer-9");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->id, result->id);
}

TEST_F(StripeClientTest, AKeyStillInFlightIsAConflictAfterTheRetries) {
  script(R"({"responses": [{"delay_ms": 1500}]})");
  auto o = options();
  o.timeout = 300ms;
  SleepRecorder sleeps;
  StripeClient client(*http_, o, sleeps.function());
  auto result = client.create_customer("slow@example.com", "", 9, "customer-9");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::conflict) << result.error().message;
  EXPECT_EQ(result.error().message, "Stripe is still processing the same request; try again");
  EXPECT_EQ(requests().size(), 3U);  // timeout, 409, 409
}

TEST_F(StripeClientTest, PersistentRateLimitIsRateLimitedWithRetryAfter) {
  script(R"({"responses": [{"status": 429, "headers": {"retry-after": "3"}},
                           {"status": 429, "headers": {"retry-after": "3"}},
                           {"status": 429, "headers": {"retry-after": "3"}}]})");
  SleepRecorder sleeps;
  StripeClient client(*http_, options(), sleeps.function());
  auto result = client.retrieve_subscription("sub_123");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::rate_limited);
  EXPECT_EQ(result.error().retry_after, 3s);
  EXPECT_EQ(requests().size(), 3U);
  EXPECT_EQ(sleeps.waits, (std::vector<std::chrono::milliseconds>{3s, 3s}));
}

TEST_F(StripeClientTest, PersistentServerErrorIsUnavailableAndStripesHintIsHonoured) {
  script(R"({"responses": [{"status": 500}, {"status": 502}, {"status": 503}]})");
  SleepRecorder sleeps;
  StripeClient client(*http_, options(), sleeps.function());
  auto result = client.retrieve_subscription("sub_123");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::unavailable);
  EXPECT_EQ(result.error().message, "Stripe failed (HTTP 503)");
  EXPECT_EQ(requests().size(), 3U);

  fake_->reset();
  script(R"({"responses": [{"status": 500, "headers": {"stripe-should-retry": "false"}}]})");
  result = client.retrieve_subscription("sub_123");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::unavailable);
  EXPECT_EQ(requests().size(), 1U);
}

TEST_F(StripeClientTest, UnreachableStripeIsUnavailableAfterRetries) {
  auto o = options();
  o.base_url = "http://127.0.0.1:9/";  // the discard port: nothing listens there
  SleepRecorder sleeps;
  StripeClient client(*http_, o, sleeps.function());
  auto result = client.create_customer("ada@example.com", "Ada", 42, "customer-42");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::unavailable);
  EXPECT_EQ(result.error().message, "Stripe cannot be reached");
  EXPECT_EQ(sleeps.waits.size(), 2U);

  o.base_url = "ftp://127.0.0.1:9";
  StripeClient misconfigured(*http_, o, sleeps.function());
  result = misconfigured.create_customer("ada@example.com", "Ada", 42, "customer-42");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::unavailable);
  EXPECT_TRUE(contains(result.error().message, "STRIPE_API_BASE")) << result.error().message;
}

TEST_F(StripeClientTest, AWrongKeyIsNeverEchoed) {
  auto o = options();
  o.secret_key = "sk_test_wrongKeyThatMustNotLeak4321";
  SleepRecorder sleeps;
  StripeClient client(*http_, o, sleeps.function());
  auto result = client.create_customer("ada@example.com", "Ada", 42, "customer-42");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::unavailable);
  EXPECT_EQ(result.error().message, "payments are not configured correctly");
  EXPECT_FALSE(contains(result.error().message, o.secret_key));
  EXPECT_FALSE(contains(result.error().message, "4321"));
  EXPECT_FALSE(contains(result.error().message, "sk_"));
  EXPECT_TRUE(sleeps.waits.empty()) << "a 401 is not retried";
  // What the fake said (Stripe shows the key's last characters) is dropped.
  EXPECT_EQ(requests().size(), 1U);

  // A message that quotes the real key is scrubbed.
  script(std::string(R"({"responses": [{"status": 400, "body": {"error": {"type":
      "invalid_request_error", "message": "Bad thing about )") +
         kKey + R"( here"}}}]})");
  StripeClient right(*http_, options());
  auto scrubbed = right.retrieve_subscription("sub_123");
  ASSERT_FALSE(scrubbed);
  EXPECT_EQ(scrubbed.error().code, Errc::validation_failed);
  EXPECT_EQ(scrubbed.error().message, "Bad thing about *** here");

  auto none = options();
  none.secret_key.clear();
  StripeClient unconfigured(*http_, none);
  const auto before = requests().size();
  auto refused = unconfigured.retrieve_subscription("sub_123");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::unavailable);
  EXPECT_EQ(requests().size(), before);
}

TEST_F(StripeClientTest, StripeErrorsMapToParleyErrors) {
  StripeClient client(*http_, options());
  const auto c = customer(client);

  auto checkout = checkout_for(c);
  checkout.price_id = "price_gold";
  auto session = client.create_checkout_session(checkout, "checkout-gold");
  ASSERT_FALSE(session);
  EXPECT_EQ(session.error().code, Errc::not_found);
  EXPECT_EQ(session.error().message, "No such price: 'price_gold'");

  auto missing = client.retrieve_subscription("sub_missing");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found);
  EXPECT_EQ(missing.error().message, "No such subscription: 'sub_missing'");

  auto unknown = client.request("POST", "/v1/customers", {{"emale", "a@example.com"}});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, Errc::validation_failed);
  EXPECT_EQ(unknown.error().message, "Received unknown parameter: emale");

  auto empty = client.request("POST", "/v1/customers", {{"email", ""}});
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, Errc::validation_failed);

  ASSERT_TRUE(client.create_customer("one@example.com", "", 1, "same-key"));
  auto reused = client.create_customer("two@example.com", "", 2, "same-key");
  ASSERT_FALSE(reused);
  EXPECT_EQ(reused.error().code, Errc::conflict);
  EXPECT_TRUE(contains(reused.error().message, "same parameters")) << reused.error().message;

  script(R"({"responses": [{"status": 402, "body": {"error": {"type": "card_error",
      "code": "card_declined", "decline_code": "insufficient_funds",
      "message": "Your card has insufficient funds."}}}]})");
  auto declined = client.request("POST", "/v1/customers", {});
  ASSERT_FALSE(declined);
  EXPECT_EQ(declined.error().code, Errc::validation_failed);
  EXPECT_EQ(declined.error().message, "Your card has insufficient funds.");

  auto url = client.request("GET", "/v1/nothing");
  ASSERT_FALSE(url);
  EXPECT_EQ(url.error().code, Errc::unavailable);
  EXPECT_TRUE(contains(url.error().message, "HTTP 404")) << url.error().message;

  auto raw = client.request("GET", "/v1/prices/price_monthly");
  ASSERT_TRUE(raw) << raw.error().message;
  EXPECT_EQ(raw->at("object").as_string(), "price");
}

TEST_F(StripeClientTest, MalformedRepliesAreUnavailableAndNotRetried) {
  SleepRecorder sleeps;
  StripeClient client(*http_, options(), sleeps.function());
  const std::vector<std::string> bodies = {
      R"("not json at all")",
      R"([1, 2])",
      R"({"id": "sub_1", "object": "invoice"})",
      R"({"id": "sub_1", "object": "subscription", "customer": "cus_1", "status": "active"})",
      R"({"id": "sub_1", "object": "subscription", "customer": "cus_1", "status": "active",
          "items": {"data": [{"price": {"id": "price_1"}}]}})",
  };
  for (const auto& body : bodies) {
    fake_->reset();
    script(R"({"responses": [{"status": 200, "body": )" + body + "}]}");
    auto result = client.retrieve_subscription("sub_1");
    ASSERT_FALSE(result) << body;
    EXPECT_EQ(result.error().code, Errc::unavailable) << body;
    EXPECT_TRUE(contains(result.error().message, "unexpected reply")) << result.error().message;
    EXPECT_EQ(requests().size(), 1U) << body;
  }
  EXPECT_TRUE(sleeps.waits.empty());
}

TEST_F(StripeClientTest, IdsAndPathsOutsideTheAlphabetAreRefusedWithoutARequest) {
  StripeClient client(*http_, options());
  for (const std::string& id : std::vector<std::string>{
           "sub_1/../../v1/customers", "sub_1?expand[]=customer", "sub 1", "", "sub_%2e%2e",
           "sub_1#x", "sub_1\r\nX-Injected: 1", "sub_\xC3\xA9", std::string(256, 'a')}) {
    auto sub = client.retrieve_subscription(id);
    ASSERT_FALSE(sub) << id;
    EXPECT_EQ(sub.error().code, Errc::invalid_request) << id;
    EXPECT_FALSE(client.set_cancel_at_period_end(id, true, "k"));
    EXPECT_FALSE(client.cancel_subscription_now(id));
    EXPECT_FALSE(client.retrieve_checkout_session(id));
    EXPECT_FALSE(client.create_portal_session(id, ""));
  }
  EXPECT_TRUE(is_valid_stripe_id(std::string(255, 'a')));
  EXPECT_TRUE(is_valid_stripe_id("cs_test_a1B2"));
  for (const std::string& path :
       std::vector<std::string>{"/v1/customers/../x", "/v2/customers", "/v1//customers",
                                "/v1/customers/", "/v1/customers?x=1", "v1/customers", "/v1"}) {
    auto r = client.request("GET", path);
    ASSERT_FALSE(r) << path;
    EXPECT_EQ(r.error().code, Errc::invalid_request) << path;
  }
  EXPECT_EQ(client.request("PUT", "/v1/customers").error().code, Errc::invalid_request);
  EXPECT_EQ(client.request("POST", "/v1/customers", {}, std::string_view("a\r\nb")).error().code,
            Errc::invalid_request);
  EXPECT_EQ(client.request("POST", "/v1/customers", {}, std::string_view(std::string(256, 'k')))
                .error()
                .code,
            Errc::invalid_request);
  EXPECT_EQ(client.request("POST", "/v1/customers", {}, std::string_view("")).error().code,
            Errc::invalid_request);
  auto checkout = checkout_for(StripeCustomer{"cus_1/../x", ""});
  EXPECT_EQ(client.create_checkout_session(checkout, "k").error().code, Errc::invalid_request);
  EXPECT_TRUE(requests().empty());
}

TEST_F(StripeClientTest, ConcurrentCallsShareOneClient) {
  StripeClient client(*http_, options());
  std::vector<std::thread> threads;
  std::mutex mutex;
  std::set<std::string> ids;
  std::atomic<int> failures{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto c = client.create_customer("user" + std::to_string(i) + "@example.com", "", i,
                                      "customer-" + std::to_string(i));
      if (!c) {
        ++failures;
        return;
      }
      std::lock_guard lock(mutex);
      ids.insert(c->id);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(ids.size(), 8U);
}

// --- Parsing both API shapes (shared/apis/stripe/API-VERSIONS.md) ------------------------------

TEST(StripeParse, SubscriptionIn20230816Shape) {
  const auto event = load_event("customer.subscription.updated.2023-08-16.json");
  ASSERT_EQ(event.at("api_version").as_string(), "2023-08-16");
  const auto& object = event.at("data").at("object").as_object();
  ASSERT_TRUE(object.contains("current_period_end"));
  auto sub = parse_subscription(object);
  ASSERT_TRUE(sub) << sub.error().message;
  EXPECT_EQ(sub->id, "sub_1NnmX4GPxmnHQRkJrhGrFloA");
  EXPECT_EQ(sub->customer, "cus_Oaxlz8kB0PJWGa");
  EXPECT_EQ(sub->status, "active");
  EXPECT_EQ(sub->price_id, "price_1NnlpZGPxmnHQRkJuWjM7eRV");
  EXPECT_TRUE(sub->cancel_at_period_end);
  EXPECT_EQ(sub->current_period_start, 1767225660);
  EXPECT_EQ(sub->current_period_end, 1769904060);
  ASSERT_TRUE(sub->canceled_at);
  EXPECT_EQ(*sub->canceled_at, 1768089660);
  EXPECT_EQ(sub->created, 1767225660);
  EXPECT_EQ(sub->user_reference, "");
}

TEST(StripeParse, SubscriptionInDahliaShapeReadsThePeriodFromTheItem) {
  const auto event = load_event("customer.subscription.updated.2026-07-29.dahlia.json");
  ASSERT_EQ(event.at("api_version").as_string(), "2026-07-29.dahlia");
  const auto& object = event.at("data").at("object").as_object();
  ASSERT_FALSE(object.contains("current_period_end")) << "the dahlia shape moved it to the items";
  auto sub = parse_subscription(object);
  ASSERT_TRUE(sub) << sub.error().message;
  EXPECT_EQ(sub->id, "sub_1Pgc6rB7WZ01zgkWNy0Cn5nw");
  EXPECT_EQ(sub->customer, "cus_QXg1o8vcGmoR32");
  EXPECT_EQ(sub->status, "active");
  EXPECT_EQ(sub->price_id, "price_1PgafmB7WZ01zgkW6dKueIc5");
  EXPECT_TRUE(sub->cancel_at_period_end);
  EXPECT_EQ(sub->current_period_start, 1767225660);
  EXPECT_EQ(sub->current_period_end, 1769904060);
  ASSERT_TRUE(sub->canceled_at);
  EXPECT_EQ(*sub->canceled_at, 1768089660);
  EXPECT_EQ(sub->created, 1767225660);
}

TEST(StripeParse, MalformedSubscriptionsNameTheField) {
  auto object = load_event("customer.subscription.updated.2023-08-16.json")
                    .at("data")
                    .at("object")
                    .as_object();
  const auto without = [&](std::string_view field) {
    auto copy = object;
    copy.erase(field);
    return parse_subscription(copy);
  };
  for (const std::string_view field : {"id", "customer", "status", "items"}) {
    auto r = without(field);
    ASSERT_FALSE(r) << field;
    EXPECT_EQ(r.error().code, Errc::invalid_request);
    EXPECT_TRUE(contains(r.error().message, field)) << r.error().message;
  }
  auto copy = object;
  copy["object"] = "invoice";
  EXPECT_FALSE(parse_subscription(copy));
  copy = object;
  copy["cancel_at_period_end"] = "yes";
  EXPECT_FALSE(parse_subscription(copy));
  copy = object;
  copy["customer"] = json::object{{"id", "cus_expanded"}, {"object", "customer"}};
  copy["metadata"] = json::object{{"user_id", "42"}};
  copy["canceled_at"] = nullptr;
  auto expanded = parse_subscription(copy);
  ASSERT_TRUE(expanded) << expanded.error().message;
  EXPECT_EQ(expanded->customer, "cus_expanded");
  EXPECT_EQ(expanded->user_reference, "42");
  EXPECT_FALSE(expanded->canceled_at);
}

TEST(StripeParse, CheckoutSessionWithIdExpandedOrNoSubscription) {
  json::object session{
      {"id", "cs_test_1"},           {"object", "checkout.session"}, {"url", nullptr},
      {"status", "complete"},        {"payment_status", "paid"},     {"customer", "cus_1"},
      {"client_reference_id", "42"}, {"subscription", "sub_1"}};
  auto parsed = parse_checkout_session(session);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->subscription_id, std::optional<std::string>("sub_1"));
  EXPECT_FALSE(parsed->subscription);
  EXPECT_TRUE(parsed->url.empty());
  EXPECT_EQ(parsed->client_reference_id, "42");

  session["subscription"] =
      load_event("customer.subscription.updated.2026-07-29.dahlia.json").at("data").at("object");
  session["customer"] = json::object{{"id", "cus_2"}};
  parsed = parse_checkout_session(session);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->subscription_id, std::optional<std::string>("sub_1Pgc6rB7WZ01zgkWNy0Cn5nw"));
  ASSERT_TRUE(parsed->subscription);
  EXPECT_EQ(parsed->subscription->current_period_end, 1769904060);
  EXPECT_EQ(parsed->customer, "cus_2");

  session["subscription"] = nullptr;
  session["client_reference_id"] = nullptr;
  parsed = parse_checkout_session(session);
  ASSERT_TRUE(parsed);
  EXPECT_FALSE(parsed->subscription_id);
  EXPECT_TRUE(parsed->client_reference_id.empty());

  session["subscription"] = 7;
  EXPECT_FALSE(parse_checkout_session(session));
  session.erase("id");
  EXPECT_FALSE(parse_checkout_session(session));
}

}  // namespace
}  // namespace parley::billing
