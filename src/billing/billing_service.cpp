#include "billing/billing_service.hpp"

#include <boost/json/parse.hpp>
#include <charconv>

#include "billing/core/webhook_signature.hpp"

namespace parley::billing {

namespace json = boost::json;

namespace {

// A positive user id from Stripe's client_reference_id / metadata[user_id].
std::optional<std::int64_t> parse_user_id(std::string_view text) {
  std::int64_t id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id <= 0) return std::nullopt;
  return id;
}

std::string string_at(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string();
}

// An invoice's subscription: `subscription` (2023-08-16) or
// `parent.subscription_details.subscription` (2025-03-31.basil and later).
std::string invoice_subscription(const json::object& invoice) {
  if (auto id = string_at(invoice, "subscription"); !id.empty()) return id;
  const auto* parent = invoice.if_contains("parent");
  if (parent == nullptr || !parent->is_object()) return {};
  const auto* details = parent->as_object().if_contains("subscription_details");
  if (details == nullptr || !details->is_object()) return {};
  return string_at(details->as_object(), "subscription");
}

}  // namespace

BillingService::BillingService(StripeClient& stripe, BillingStore& store, PlanQuotas& quotas,
                               UsageMeter& meter, auth::UserStore& users, const core::Clock& clock,
                               core::Logger& log, BillingSettings settings)
    : stripe_(stripe),
      store_(store),
      quotas_(quotas),
      meter_(meter),
      users_(users),
      clock_(clock),
      log_(log),
      settings_(std::move(settings)) {}

Result<std::string> BillingService::customer_for(const auth::User& user) {
  auto known = store_.customer_of(user.id);
  if (!known) return known.error();
  if (*known) return **known;
  // One key per user: a retry, or two checkouts at once, create one customer at Stripe.
  auto created = stripe_.create_customer(user.email.value_or(""), user.username, user.id,
                                         "parley-customer-" + std::to_string(user.id));
  if (!created) return created.error();
  if (auto stored = store_.set_customer(user.id, created->id); !stored) {
    if (stored.error().code != Errc::conflict) return stored.error();
    auto winner = store_.customer_of(user.id);  // a concurrent checkout stored its customer
    if (!winner) return winner.error();
    if (*winner) return **winner;
    return stored.error();
  }
  return created->id;
}

Result<CheckoutStarted> BillingService::checkout(std::int64_t user_id, std::string_view plan) {
  if (!is_paid_plan(plan)) {
    return fail(Errc::validation_failed, "plan must be monthly or yearly");
  }
  const auto price = quotas_.plans().price_of_plan(plan);
  if (!price || price->empty()) {
    return fail(Errc::unavailable, "payments are not configured on this server");
  }
  auto user = users_.find_by_id(user_id);
  if (!user) return user.error();
  if (user->is_guest || !user->email) {
    return fail(Errc::forbidden, "guests cannot subscribe: register first");
  }
  auto state = store_.state(user_id);
  if (!state) return state.error();
  if (is_paid_plan(state->plan) && state->status && subscription_grants_plan(*state->status)) {
    return fail(Errc::conflict, "you already have a subscription; change it in the billing portal");
  }
  auto customer = customer_for(*user);
  if (!customer) return customer.error();
  CheckoutRequest request;
  request.customer = *customer;
  request.price_id = *price;
  request.user_id = user_id;
  request.success_url =
      settings_.frontend_url + "/payment/success?session_id={CHECKOUT_SESSION_ID}";
  request.cancel_url = settings_.frontend_url + "/payment/cancel";
  // A double click within the same minute gets the same session.
  const std::string key = "parley-checkout-" + std::to_string(user_id) + "-" + std::string(plan) +
                          "-" + std::to_string(now_seconds() / 60);
  auto session = stripe_.create_checkout_session(request, key);
  if (!session) return session.error();
  log_.info("billing_checkout_started",
            {{"user_id", user_id}, {"plan", plan}, {"session", session->id}});
  return CheckoutStarted{session->id, session->url};
}

Result<bool> BillingService::store_snapshot(std::int64_t user_id,
                                            const StripeSubscription& subscription,
                                            std::int64_t as_of) {
  SubscriptionSnapshot snapshot;
  snapshot.subscription_id = subscription.id;
  snapshot.status = subscription.status;
  snapshot.plan = quotas_.plans().plan_of_price(subscription.price_id).value_or("free");
  snapshot.cancel_at_period_end = subscription.cancel_at_period_end;
  if (subscription.current_period_end > 0) {
    snapshot.current_period_end = subscription.current_period_end;
  }
  snapshot.as_of = as_of;
  return store_.apply(user_id, snapshot);
}

Result<std::string> BillingService::sync_subscription(std::int64_t user_id,
                                                      std::string_view subscription_id) {
  auto subscription = stripe_.retrieve_subscription(subscription_id);
  if (!subscription) return subscription.error();
  // What Stripe answers now is the newest state there is.
  auto changed = store_snapshot(user_id, *subscription, now_seconds());
  if (!changed) return changed.error();
  return std::string(*changed ? "subscription " + subscription->status : "subscription unchanged");
}

Result<BillingStatus> BillingService::status(std::int64_t user_id) {
  auto state = store_.state(user_id);
  if (!state) return state.error();
  BillingStatus out;
  out.limits = quotas_.plans().limits(state->plan);
  out.state = std::move(*state);
  auto speech = meter_.used_today(user_id, Feature::speech_seconds);
  if (!speech) return speech.error();
  auto chars = meter_.used_today(user_id, Feature::translated_chars);
  if (!chars) return chars.error();
  out.speech_seconds_used = *speech;
  out.translated_chars_used = *chars;
  return out;
}

Result<BillingStatus> BillingService::verify_payment(std::int64_t user_id,
                                                     std::string_view session_id) {
  if (!is_valid_stripe_id(session_id)) return fail(Errc::not_found, "no such checkout session");
  auto session = stripe_.retrieve_checkout_session(session_id);
  if (!session) return session.error();
  // Only the user the session was made for may claim it.
  if (parse_user_id(session->client_reference_id) != user_id) {
    return fail(Errc::not_found, "no such checkout session");
  }
  if (session->status != "complete" || !session->subscription_id) {
    return fail(Errc::conflict, "the checkout is not paid yet");
  }
  if (!session->customer.empty()) {
    if (auto stored = store_.set_customer(user_id, session->customer);
        !stored && stored.error().code != Errc::conflict) {
      return stored.error();
    }
  }
  auto synced = sync_subscription(user_id, *session->subscription_id);
  if (!synced) return synced.error();
  return status(user_id);
}

Result<BillingStatus> BillingService::cancel(std::int64_t user_id) {
  auto state = store_.state(user_id);
  if (!state) return state.error();
  if (!state->subscription_id || !state->status || !subscription_grants_plan(*state->status)) {
    return fail(Errc::not_found, "you have no subscription to cancel");
  }
  auto subscription = stripe_.set_cancel_at_period_end(*state->subscription_id, true,
                                                       "parley-cancel-" + *state->subscription_id);
  if (!subscription) return subscription.error();
  if (auto stored = store_snapshot(user_id, *subscription, now_seconds()); !stored) {
    return stored.error();
  }
  log_.info("billing_cancel_requested",
            {{"user_id", user_id}, {"period_end", subscription->current_period_end}});
  return status(user_id);
}

Result<std::string> BillingService::portal(std::int64_t user_id) {
  auto customer = store_.customer_of(user_id);
  if (!customer) return customer.error();
  if (!*customer) return fail(Errc::not_found, "you have no billing account yet");
  auto session = stripe_.create_portal_session(**customer, settings_.frontend_url + "/account");
  if (!session) return session.error();
  return session->url;
}

std::function<void()> BillingService::prepare_account_removal(std::int64_t user_id) {
  auto state = store_.state(user_id);
  if (!state || !state->subscription_id || !state->status ||
      !subscription_grants_plan(*state->status)) {
    return {};
  }
  return [this, user_id, subscription = *state->subscription_id] {
    auto canceled = stripe_.cancel_subscription_now(subscription);
    // not_found: Stripe already canceled it.
    if (!canceled && canceled.error().code != Errc::not_found) {
      log_.error("billing_cancel_after_deletion_failed", {{"user_id", user_id},
                                                          {"subscription", subscription},
                                                          {"error", canceled.error().message}});
      return;
    }
    log_.info("billing_canceled_with_account",
              {{"user_id", user_id}, {"subscription", subscription}});
  };
}

Result<std::optional<std::int64_t>> BillingService::owner_of(std::string_view user_reference,
                                                             std::string_view customer) {
  // The customer mapping is ours (made at checkout); metadata only names a user we can check.
  std::optional<std::int64_t> by_customer;
  if (!customer.empty()) {
    auto found = store_.user_of_customer(customer);
    if (!found) return found.error();
    by_customer = *found;
  }
  const auto by_reference = parse_user_id(user_reference);
  if (by_customer && by_reference && *by_customer != *by_reference) {
    log_.warning("billing_owner_mismatch", {{"customer", customer}});
    return by_customer;
  }
  return by_customer ? by_customer : by_reference;
}

Result<std::string> BillingService::dispatch(std::string_view type, const json::object& object,
                                             std::int64_t created) {
  if (type == "checkout.session.completed") {
    auto session = parse_checkout_session(object);
    if (!session) return session.error();
    const auto user_id = parse_user_id(session->client_reference_id);
    if (!user_id) return std::string("ignored: no Parley user on the session");
    if (auto user = users_.find_by_id(*user_id); !user) {
      if (user.error().code != Errc::not_found) return user.error();
      // Paid on a page opened before the account was deleted: nobody to serve, so stop billing.
      if (session->subscription_id) {
        auto canceled = stripe_.cancel_subscription_now(*session->subscription_id);
        if (!canceled && canceled.error().code != Errc::not_found) return canceled.error();
      }
      return std::string("account deleted: subscription canceled");
    }
    if (!session->customer.empty()) {
      auto owner = store_.user_of_customer(session->customer);
      if (!owner) return owner.error();
      if (*owner && **owner != *user_id) return std::string("ignored: another user's customer");
      if (auto stored = store_.set_customer(*user_id, session->customer);
          !stored && stored.error().code != Errc::conflict) {
        return stored.error();
      }
    }
    if (!session->subscription_id) return std::string("checkout without a subscription");
    return sync_subscription(*user_id, *session->subscription_id);
  }
  if (type == "customer.subscription.created" || type == "customer.subscription.updated" ||
      type == "customer.subscription.deleted") {
    auto subscription = parse_subscription(object);
    if (!subscription) return subscription.error();
    auto owner = owner_of(subscription->user_reference, subscription->customer);
    if (!owner) return owner.error();
    if (!*owner) return std::string("ignored: unknown customer");
    auto changed = store_snapshot(**owner, *subscription, created);
    // The account went away meanwhile: nothing to update (and nothing for Stripe to retry).
    if (!changed && changed.error().code == Errc::not_found) return std::string("account deleted");
    if (!changed) return changed.error();
    return std::string(*changed ? "applied " + subscription->status : "older than the state held");
  }
  if (type == "invoice.paid" || type == "invoice.payment_failed") {
    const std::string subscription = invoice_subscription(object);
    if (subscription.empty()) return std::string("ignored: not a subscription invoice");
    auto owner = owner_of({}, string_at(object, "customer"));
    if (!owner) return owner.error();
    if (!*owner) return std::string("ignored: unknown customer");
    // The invoice says little about the subscription: ask Stripe for its state now.
    auto synced = sync_subscription(**owner, subscription);
    if (!synced && synced.error().code == Errc::not_found) return std::string("account deleted");
    return synced;
  }
  return std::string("ignored");
}

Result<WebhookOutcome> BillingService::handle_webhook(std::string_view signature,
                                                      std::string_view raw_body) {
  if (settings_.webhook_secrets.empty()) {
    return fail(Errc::unavailable, "webhooks are not configured (STRIPE_WEBHOOK_SECRET)");
  }
  if (auto verified = verify_stripe_signature(signature, raw_body, settings_.webhook_secrets,
                                              now_seconds(), settings_.signature_tolerance);
      !verified) {
    return verified.error();
  }
  boost::system::error_code ec;
  auto parsed = json::parse(raw_body, ec);
  if (ec || !parsed.is_object()) return fail(Errc::invalid_request, "the event is not JSON");
  const auto& event = parsed.as_object();
  WebhookOutcome out;
  out.event_id = string_at(event, "id");
  out.type = string_at(event, "type");
  const auto* created = event.if_contains("created");
  const auto* data = event.if_contains("data");
  const json::object* object = nullptr;
  if (data != nullptr && data->is_object()) {
    if (const auto* inner = data->as_object().if_contains("object"); inner && inner->is_object()) {
      object = &inner->as_object();
    }
  }
  if (out.event_id.empty() || out.type.empty() || created == nullptr || !created->is_int64() ||
      object == nullptr) {
    return fail(Errc::invalid_request, "the event lacks id, type, created or data.object");
  }
  auto first = store_.record_event(out.event_id, out.type, created->as_int64());
  if (!first) return first.error();
  if (!*first) {
    out.duplicate = true;
    out.outcome = "duplicate";
    return out;
  }
  auto done = dispatch(out.type, *object, created->as_int64());
  if (!done) {
    // Not marked processed: Stripe's retry of this event will run it again.
    if (done.error().code == Errc::invalid_request) {
      (void)store_.mark_event_processed(out.event_id, "rejected: " + done.error().message);
    }
    return done.error();
  }
  out.outcome = *done;
  if (auto marked = store_.mark_event_processed(out.event_id, out.outcome); !marked) {
    return marked.error();
  }
  log_.info("billing_event",
            {{"stripe_event", out.event_id}, {"type", out.type}, {"outcome", out.outcome}});
  return out;
}

}  // namespace parley::billing
