#include "billing/core/billing_store.hpp"

#include <vector>

#include "billing/core/plans.hpp"

namespace parley::billing {

namespace {

using store::Value;

// Stripe ids are short (evt_ + ~24 characters); anything much longer is not Stripe's.
constexpr std::size_t kMaxIdBytes = 255;
constexpr std::size_t kMaxOutcomeBytes = 500;

std::string_view for_update(store::Dialect dialect) {
  return dialect == store::Dialect::postgres ? " FOR UPDATE" : "";
}

/// Unix seconds up to the year 5138: Stripe's times are seconds; milliseconds are far larger.
bool plausible_seconds(std::int64_t value) { return value >= 0 && value < 100'000'000'000; }

std::optional<std::int64_t> seconds_to_ms(const std::optional<std::int64_t>& seconds) {
  if (!seconds) return std::nullopt;
  return *seconds * 1000;
}

std::optional<std::int64_t> ms_to_seconds(const std::optional<std::int64_t>& ms) {
  if (!ms) return std::nullopt;
  return *ms / 1000;
}

Result<SubscriptionState> state_from_row(const store::Row& row) {
  SubscriptionState state;
  auto plan = row.get<std::string>("plan");
  auto status = row.get<std::optional<std::string>>("subscription_status");
  auto subscription = row.get<std::optional<std::string>>("stripe_subscription_id");
  auto cancel = row.get<bool>("subscription_cancel_at_period_end");
  auto period_end = row.get<std::optional<std::int64_t>>("subscription_current_period_end");
  auto updated = row.get<std::optional<std::int64_t>>("subscription_updated_at");
  if (!plan) return plan.error();
  if (!status) return status.error();
  if (!subscription) return subscription.error();
  if (!cancel) return cancel.error();
  if (!period_end) return period_end.error();
  if (!updated) return updated.error();
  state.plan = std::move(*plan);
  state.status = std::move(*status);
  state.subscription_id = std::move(*subscription);
  state.cancel_at_period_end = *cancel;
  state.current_period_end = ms_to_seconds(*period_end);
  state.updated_at = ms_to_seconds(*updated);
  return state;
}

constexpr std::string_view kStateColumns =
    "plan, subscription_status, stripe_subscription_id, subscription_cancel_at_period_end, "
    "subscription_current_period_end, subscription_updated_at";

Result<std::optional<SubscriptionState>> read_state(store::Connection& connection,
                                                    std::int64_t user_id, bool lock) {
  auto rows =
      connection.query("SELECT " + std::string(kStateColumns) + " FROM users WHERE id = $1" +
                           std::string(lock ? for_update(connection.dialect()) : ""),
                       {Value{user_id}});
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<SubscriptionState>{};
  auto state = state_from_row((*rows)[0]);
  if (!state) return state.error();
  return std::optional<SubscriptionState>{std::move(*state)};
}

}  // namespace

bool subscription_grants_plan(std::string_view status) noexcept {
  return status == "active" || status == "trialing" || status == "past_due";
}

Result<std::optional<std::string>> BillingStore::customer_of(std::int64_t user_id) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto rows =
      (*lease)->query("SELECT stripe_customer_id FROM users WHERE id = $1", {Value{user_id}});
  if (!rows) return rows.error();
  if (rows->empty()) return fail(Errc::not_found, "no such user");
  return (*rows)[0].get<std::optional<std::string>>(std::size_t{0});
}

Result<void> BillingStore::set_customer(std::int64_t user_id, std::string_view customer_id) {
  if (customer_id.empty() || customer_id.size() > kMaxIdBytes) {
    return fail(Errc::validation_failed, "invalid Stripe customer id");
  }
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto changed = (*lease)->execute(
      "UPDATE users SET stripe_customer_id = $2, updated_at = $3 "
      "WHERE id = $1 AND stripe_customer_id IS NULL",
      {Value{user_id}, Value{std::string(customer_id)}, Value{clock_.now_ms()}});
  if (!changed) {
    if (changed.error().code == Errc::conflict) {
      return fail(Errc::conflict, "the Stripe customer belongs to another user");
    }
    return changed.error();
  }
  if (*changed == 1) return {};
  // Not set now: no such user, the same customer already (idempotent), or another one.
  auto rows =
      (*lease)->query("SELECT stripe_customer_id FROM users WHERE id = $1", {Value{user_id}});
  if (!rows) return rows.error();
  if (rows->empty()) return fail(Errc::not_found, "no such user");
  auto held = (*rows)[0].get<std::optional<std::string>>(std::size_t{0});
  if (!held) return held.error();
  if (*held == customer_id) return {};
  return fail(Errc::conflict, "the user already has another Stripe customer");
}

Result<std::optional<std::int64_t>> BillingStore::user_of_customer(std::string_view customer_id) {
  if (customer_id.empty()) return std::optional<std::int64_t>{};
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto rows = (*lease)->query("SELECT id FROM users WHERE stripe_customer_id = $1",
                              {Value{std::string(customer_id)}});
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<std::int64_t>{};
  auto id = (*rows)[0].get<std::int64_t>(std::size_t{0});
  if (!id) return id.error();
  return std::optional<std::int64_t>{*id};
}

Result<bool> BillingStore::record_event(std::string_view id, std::string_view type,
                                        std::int64_t created) {
  if (id.empty() || id.size() > kMaxIdBytes || type.empty() || type.size() > kMaxIdBytes) {
    return fail(Errc::validation_failed, "invalid Stripe event id or type");
  }
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto inserted = (*lease)->execute(
      "INSERT INTO stripe_events (id, type, created, received_at) VALUES ($1, $2, $3, $4) "
      "ON CONFLICT (id) DO NOTHING",
      {Value{std::string(id)}, Value{std::string(type)}, Value{created}, Value{clock_.now_ms()}});
  if (!inserted) return inserted.error();
  if (*inserted == 1) return true;
  auto rows = (*lease)->query("SELECT processed_at FROM stripe_events WHERE id = $1",
                              {Value{std::string(id)}});
  if (!rows) return rows.error();
  if (rows->empty()) return true;  // purged between the two statements: treat as new
  auto processed = (*rows)[0].get<std::optional<std::int64_t>>(std::size_t{0});
  if (!processed) return processed.error();
  return !processed->has_value();
}

Result<void> BillingStore::mark_event_processed(std::string_view id, std::string_view outcome) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto changed =
      (*lease)->execute("UPDATE stripe_events SET processed_at = $2, outcome = $3 WHERE id = $1",
                        {Value{std::string(id)}, Value{clock_.now_ms()},
                         Value{std::string(outcome.substr(0, kMaxOutcomeBytes))}});
  if (!changed) return changed.error();
  if (*changed == 0) return fail(Errc::not_found, "no such Stripe event");
  return {};
}

Result<SubscriptionState> BillingStore::state(std::int64_t user_id) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto state = read_state(**lease, user_id, false);
  if (!state) return state.error();
  if (!state->has_value()) return fail(Errc::not_found, "no such user");
  return std::move(**state);
}

Result<bool> BillingStore::apply(std::int64_t user_id, const SubscriptionSnapshot& snapshot) {
  if (snapshot.subscription_id.empty() || snapshot.subscription_id.size() > kMaxIdBytes ||
      snapshot.status.empty() || snapshot.status.size() > kMaxIdBytes) {
    return fail(Errc::validation_failed, "invalid subscription id or status");
  }
  if (!is_known_plan(snapshot.plan)) {
    return fail(Errc::validation_failed, "unknown plan '" + snapshot.plan + "'");
  }
  // Seconds, as Stripe sends them: a millisecond value here would win every later comparison.
  if (!plausible_seconds(snapshot.as_of) ||
      (snapshot.current_period_end && !plausible_seconds(*snapshot.current_period_end))) {
    return fail(Errc::validation_failed, "subscription times must be Unix seconds");
  }
  SubscriptionState next;
  next.plan = subscription_grants_plan(snapshot.status) ? snapshot.plan : std::string(kPlanFree);
  next.status = snapshot.status;
  next.subscription_id = snapshot.subscription_id;
  next.cancel_at_period_end = snapshot.cancel_at_period_end;
  next.current_period_end = snapshot.current_period_end;
  next.updated_at = snapshot.as_of;

  auto lease = database_.acquire();
  if (!lease) return lease.error();
  // Read, decide and write under the row's lock (PostgreSQL FOR UPDATE; SQLite's BEGIN
  // IMMEDIATE holds the writer lock), so two events applied at once are ordered by as_of.
  auto tx = store::Transaction::begin(**lease);
  if (!tx) return tx.error();
  auto held = read_state(**lease, user_id, true);
  if (!held) return held.error();
  if (!held->has_value()) return fail(Errc::not_found, "no such user");
  const SubscriptionState& now = **held;

  if (now.updated_at && snapshot.as_of < *now.updated_at) return false;  // older: loses
  if (now.subscription_id && *now.subscription_id != snapshot.subscription_id && now.status &&
      subscription_grants_plan(*now.status) && !subscription_grants_plan(snapshot.status)) {
    return false;  // another, ended subscription must not end the live one
  }
  const bool changed = now.plan != next.plan || now.status != next.status ||
                       now.subscription_id != next.subscription_id ||
                       now.cancel_at_period_end != next.cancel_at_period_end ||
                       now.current_period_end != next.current_period_end;
  if (!changed && now.updated_at == next.updated_at) return false;

  std::string sql =
      "UPDATE users SET plan = $2, subscription_status = $3, stripe_subscription_id = $4, "
      "subscription_cancel_at_period_end = $5, subscription_current_period_end = $6, "
      "subscription_updated_at = $7";
  if (changed) sql += ", updated_at = $8";
  sql += " WHERE id = $1";
  std::vector<Value> params{Value{user_id},
                            Value{next.plan},
                            Value{snapshot.status},
                            Value{snapshot.subscription_id},
                            Value{std::int64_t{snapshot.cancel_at_period_end ? 1 : 0}},
                            store::nullable(seconds_to_ms(snapshot.current_period_end)),
                            Value{snapshot.as_of * 1000}};
  if (changed) params.emplace_back(clock_.now_ms());
  auto updated = (*lease)->execute(sql, params);
  if (!updated) return updated.error();
  if (auto done = tx->commit(); !done) return done.error();
  return changed;
}

Result<std::int64_t> BillingStore::purge_events(std::int64_t received_before_ms) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  return (*lease)->execute(
      "DELETE FROM stripe_events WHERE processed_at IS NOT NULL AND received_at < $1",
      {Value{received_before_ms}});
}

}  // namespace parley::billing
