#include "api/billing_routes.hpp"

#include "api/replies.hpp"
#include "auth/user.hpp"
#include "net/json_body.hpp"

namespace parley::api {

namespace asio = boost::asio;
namespace json = boost::json;
namespace http = net::http;
using net::RequestContext;
using net::Response;

namespace {

constexpr net::StringRule kId{.min_length = 1, .max_length = 255};

Error not_configured() {
  return fail(Errc::unavailable, "payments are not configured on this server");
}

// The user's billing status after `action` (run on a worker), as JSON.
template <class Action>
asio::awaitable<Response> status_reply(const BillingRoutesDeps& deps, RequestContext& ctx,
                                       Action action) {
  auto principal = co_await authenticate(deps.accounts, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  if (deps.billing == nullptr) co_return fail_with(not_configured(), ctx);
  auto job = [billing = deps.billing, user_id = principal->user_id, action]() {
    return action(*billing, user_id);
  };
  auto done = co_await deps.workers.run(std::move(job));
  if (!done) co_return fail_with(done.error(), ctx, &deps.log);
  co_return ok_json(ctx, to_json(*done));
}

asio::awaitable<Response> do_checkout(const BillingRoutesDeps& deps, RequestContext& ctx) {
  auto principal = co_await authenticate(deps.accounts, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  auto body = net::parse_json_object(ctx.request);
  if (!body) co_return fail_with(body.error(), ctx);
  auto plan = net::optional_string(*body, "plan", {.min_length = 1, .max_length = 20});
  if (!plan) co_return fail_with(plan.error(), ctx);
  if (!*plan) {
    co_return fail_with(
        fail(Errc::validation_failed, "field 'plan' (monthly or yearly) is required"), ctx);
  }
  if (deps.billing == nullptr) co_return fail_with(not_configured(), ctx);
  auto job = [billing = deps.billing, user_id = principal->user_id, plan = **plan]() {
    return billing->checkout(user_id, plan);
  };
  auto started = co_await deps.workers.run(std::move(job));
  if (!started) co_return fail_with(started.error(), ctx, &deps.log);
  co_return ok_json(ctx, {{"sessionId", started->session_id},
                          {"session_id", started->session_id},
                          {"url", started->url}});
}

asio::awaitable<Response> do_verify(const BillingRoutesDeps& deps, RequestContext& ctx) {
  auto body = net::parse_json_object(ctx.request);
  if (!body) co_return fail_with(body.error(), ctx);
  auto id = net::optional_string(*body, "session_id", kId);
  if (!id) co_return fail_with(id.error(), ctx);
  if (!*id) {
    auto camel = net::optional_string(*body, "sessionId", kId);
    if (!camel) co_return fail_with(camel.error(), ctx);
    *id = *camel;
  }
  if (!*id) {
    co_return fail_with(fail(Errc::validation_failed, "field 'session_id' is required"), ctx);
  }
  // Named before co_await: g++ 12 destroys a capturing temporary in a co_await twice.
  auto verify = [session = **id](billing::BillingService& billing, std::int64_t user_id) {
    return billing.verify_payment(user_id, session);
  };
  co_return co_await status_reply(deps, ctx, std::move(verify));
}

asio::awaitable<Response> do_status(const BillingRoutesDeps& deps, RequestContext& ctx) {
  const auto status = [](billing::BillingService& billing, std::int64_t user_id) {
    return billing.status(user_id);
  };
  co_return co_await status_reply(deps, ctx, status);
}

asio::awaitable<Response> do_cancel(const BillingRoutesDeps& deps, RequestContext& ctx) {
  const auto cancel = [](billing::BillingService& billing, std::int64_t user_id) {
    return billing.cancel(user_id);
  };
  co_return co_await status_reply(deps, ctx, cancel);
}

asio::awaitable<Response> do_portal(const BillingRoutesDeps& deps, RequestContext& ctx) {
  auto principal = co_await authenticate(deps.accounts, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  if (deps.billing == nullptr) co_return fail_with(not_configured(), ctx);
  auto job = [billing = deps.billing, user_id = principal->user_id]() {
    return billing->portal(user_id);
  };
  auto url = co_await deps.workers.run(std::move(job));
  if (!url) co_return fail_with(url.error(), ctx, &deps.log);
  co_return ok_json(ctx, {{"url", *url}});
}

asio::awaitable<Response> do_webhook(const BillingRoutesDeps& deps, RequestContext& ctx) {
  if (deps.billing == nullptr) co_return fail_with(not_configured(), ctx);
  // The signature covers the body byte for byte: it is passed on as received, never re-encoded.
  auto job = [billing = deps.billing, signature = std::string(ctx.request["Stripe-Signature"]),
              body = ctx.request.body()]() { return billing->handle_webhook(signature, body); };
  auto handled = co_await deps.workers.run(std::move(job));
  if (!handled) {
    deps.log.warning("billing_webhook_refused",
                     {{"code", to_code(handled.error().code)}, {"error", handled.error().message}});
    co_return fail_with(handled.error(), ctx, &deps.log);
  }
  co_return ok_json(ctx, {{"received", true}, {"duplicate", handled->duplicate}});
}

}  // namespace

json::object to_json(const billing::BillingStatus& status) {
  const auto& state = status.state;
  const auto optional_string = [](const std::optional<std::string>& value) {
    return value ? json::value(*value) : json::value(nullptr);
  };
  return json::object{
      {"plan", state.plan},
      {"status", optional_string(state.status)},
      {"is_subscribed", billing::is_paid_plan(state.plan)},
      {"subscription_id", optional_string(state.subscription_id)},
      {"cancel_at_period_end", state.cancel_at_period_end},
      {"current_period_end", state.current_period_end
                                 ? json::value(auth::iso8601(*state.current_period_end * 1000))
                                 : json::value(nullptr)},
      {"limits", json::object{{"speech_minutes_per_day", status.limits.speech_seconds_per_day / 60},
                              {"translated_chars_per_day", status.limits.translated_chars_per_day},
                              {"cloud_engines", status.limits.cloud_engines},
                              {"voice_cloning", status.limits.voice_cloning},
                              {"max_room_members", status.limits.max_room_members}}},
      {"usage", json::object{{"speech_seconds", status.speech_seconds_used},
                             {"translated_chars", status.translated_chars_used}}}};
}

void add_billing_routes(net::Router& router, const BillingRoutesDeps& deps) {
  const BillingRoutesDeps* d = &deps;
  const auto route = [&router, d](http::verb method, std::string path, auto handler) {
    router.add(method, std::move(path),
               [d, handler](RequestContext& ctx) { return handler(*d, ctx); });
  };
  route(http::verb::post, "/api/create-checkout-session", do_checkout);
  route(http::verb::post, "/api/verify-payment", do_verify);
  route(http::verb::post, "/api/check-subscription-status", do_status);
  route(http::verb::post, "/api/cancel-subscription", do_cancel);
  route(http::verb::post, "/api/billing-portal", do_portal);
  route(http::verb::post, "/api/stripe/webhook", do_webhook);
}

}  // namespace parley::api
