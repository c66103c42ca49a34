#pragma once
// The billing state Parley keeps: each user's Stripe customer and subscription (columns of users,
// migrations 0001 and 0007) and the Stripe events received (stripe_events). Stripe is the source
// of truth; webhooks tell Parley what changed, at least once and in no particular order, so:
//   - record_event() de-duplicates deliveries by event id;
//   - apply() takes a subscription snapshot only if it is not older than the one held (as_of,
//     Stripe's time), so a late, older event never undoes a newer one.
//
// Plan semantics (Stripe's subscription statuses): the paid plan holds while the status is
// `active`, `trialing` or `past_due` (Stripe is still retrying the payment: access is kept until
// Stripe gives up, when it moves the subscription to `canceled` or `unpaid`, according to the
// account's settings); every other status (`incomplete`, `incomplete_expired`, `canceled`,
// `unpaid`, `paused`) means `free`.
//
// Units: the times in SubscriptionState and SubscriptionSnapshot are Unix SECONDS, Stripe's unit,
// as they arrive in events (stored as milliseconds, the schema's convention).
//
// Thread-safety: all methods are thread-safe and BLOCK on the database (run them on workers).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "store/database.hpp"

namespace parley::billing {

/// True for the statuses under which a subscription's plan applies: active, trialing, past_due.
bool subscription_grants_plan(std::string_view status) noexcept;

/// A user's subscription as Parley holds it.
struct SubscriptionState {
  std::string plan = "free";                   ///< users.plan: free, monthly or yearly
  std::optional<std::string> status;           ///< Stripe's status; nullopt: never subscribed
  std::optional<std::string> subscription_id;  ///< sub_...
  bool cancel_at_period_end = false;
  std::optional<std::int64_t> current_period_end;  ///< Unix seconds
  std::optional<std::int64_t> updated_at;          ///< Stripe time (s) of the state held
};

/// A subscription as one Stripe event (or API read) shows it.
struct SubscriptionSnapshot {
  std::string subscription_id;  ///< sub_...
  std::string status;           ///< Stripe's status: active, trialing, past_due, canceled, ...
  /// The plan the subscription's price stands for (Plans::plan_of_price): monthly or yearly, or
  /// free for a price Parley does not sell. The user gets it only under a status that grants it.
  std::string plan;
  bool cancel_at_period_end = false;
  std::optional<std::int64_t> current_period_end;  ///< Unix seconds
  /// Stripe-side time of this state, Unix seconds: the event's `created` (or the time of an API
  /// read). Applied only if >= the held state's time.
  std::int64_t as_of = 0;
};

class BillingStore {
 public:
  /// Both must outlive the store.
  BillingStore(store::Database& database, const core::Clock& clock)
      : database_(database), clock_(clock) {}

  /// The user's Stripe customer id, nullopt when none yet. Errors: Errc::not_found (no such
  /// user); storage errors.
  Result<std::optional<std::string>> customer_of(std::int64_t user_id);

  /// Records the user's Stripe customer. Idempotent for the same id. A user keeps the customer
  /// they have: setting another one is Errc::conflict (two concurrent checkouts each made a
  /// customer: the loser should use customer_of()'s). Errors: Errc::conflict also when the
  /// customer belongs to another user; Errc::not_found (no such user); Errc::validation_failed
  /// (empty id); storage errors.
  Result<void> set_customer(std::int64_t user_id, std::string_view customer_id);

  /// The user of a Stripe customer, nullopt when no user has it. Errors: storage errors.
  Result<std::optional<std::int64_t>> user_of_customer(std::string_view customer_id);

  /// Records that event `id` arrived. Returns true when it should be processed now: the first
  /// delivery, and also a redelivery of an event whose processing never finished (no
  /// mark_event_processed(): the process crashed or processing failed and Stripe retried).
  /// Returns false for an event already processed: a redelivery is then a no-op. Two deliveries
  /// of one event racing each other may both get true; apply() makes that harmless.
  /// `created` is the event's `created` (Unix seconds). Errors: Errc::validation_failed (empty
  /// or over-long id or type); storage errors.
  Result<bool> record_event(std::string_view id, std::string_view type, std::int64_t created);

  /// Marks event `id` processed with a short outcome ("applied", "stale", "ignored: ...").
  /// Errors: Errc::not_found (never recorded); storage errors.
  Result<void> mark_event_processed(std::string_view id, std::string_view outcome);

  /// The user's subscription state. Errors: Errc::not_found (no such user); storage errors.
  Result<SubscriptionState> state(std::int64_t user_id);

  /// Applies `snapshot` to the user if snapshot.as_of >= the held state's updated_at (an older
  /// snapshot loses; equal times: the later call wins). users.plan becomes snapshot.plan while
  /// subscription_grants_plan(status), else free. A snapshot of ANOTHER subscription whose
  /// status grants nothing does not replace a held subscription that grants the plan (a
  /// customer's old subscription ending after they started a new one).
  /// Returns true if the user's subscription state changed, false when nothing did (stale, the
  /// rule above, or the same state again; a same-state snapshot still advances updated_at).
  /// Errors: Errc::validation_failed (empty subscription id or status, unknown plan, a time that
  /// is not plausible Unix seconds: negative or >= 10^11, e.g. milliseconds by mistake);
  /// Errc::not_found (no such user); storage errors.
  Result<bool> apply(std::int64_t user_id, const SubscriptionSnapshot& snapshot);

  /// Deletes processed events received before `received_before_ms` (Parley's clock, Unix ms;
  /// Stripe stops retrying after 3 days). Returns the number deleted. Errors: storage errors.
  Result<std::int64_t> purge_events(std::int64_t received_before_ms);

 private:
  store::Database& database_;
  const core::Clock& clock_;
};

}  // namespace parley::billing
