// BillingStore against real databases (SQLite and PostgreSQL): customers, event de-duplication,
// and subscription snapshots applied in Stripe's time order whatever order they arrive in.

#include "billing/core/billing_store.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "billing_test_support.hpp"

namespace parley::billing {
namespace {

constexpr std::int64_t kNow = 1'767'268'800'000;  // Parley's clock, ms
constexpr std::int64_t kT = 1'767'225'660;        // Stripe time, s
constexpr std::int64_t kPeriodEnd = kT + 30 * 86'400;

SubscriptionSnapshot snapshot(std::string status, std::int64_t as_of, std::string plan = "monthly",
                              std::string id = "sub_1") {
  SubscriptionSnapshot s;
  s.subscription_id = std::move(id);
  s.status = std::move(status);
  s.plan = std::move(plan);
  s.current_period_end = kPeriodEnd;
  s.as_of = as_of;
  return s;
}

class BillingStoreTest : public test::DatabaseTest {
 protected:
  SubscriptionState state_of(BillingStore& store, std::int64_t user) {
    auto state = store.state(user);
    EXPECT_TRUE(state) << state.error().message;
    return state ? *state : SubscriptionState{};
  }
  bool applied(BillingStore& store, std::int64_t user, const SubscriptionSnapshot& s) {
    auto result = store.apply(user, s);
    EXPECT_TRUE(result) << result.error().message;
    return result && *result;
  }

  test::TestClock clock_{kNow};
};

// ---- Customers -------------------------------------------------------------------------------

TEST_P(BillingStoreTest, CustomersBelongToOneUserEach) {
  BillingStore store(*db_, clock_);
  const auto ada = add_user("ada");
  const auto bob = add_user("bob");
  auto none = store.customer_of(ada);
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_EQ(*none, std::nullopt);
  EXPECT_EQ(*store.user_of_customer("cus_A"), std::nullopt);

  auto set = store.set_customer(ada, "cus_A");
  ASSERT_TRUE(set) << set.error().message;
  EXPECT_EQ(*store.customer_of(ada), "cus_A");
  EXPECT_EQ(*store.user_of_customer("cus_A"), ada);
  EXPECT_TRUE(store.set_customer(ada, "cus_A"));  // idempotent

  auto other = store.set_customer(ada, "cus_B");  // a second checkout's customer loses
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, Errc::conflict);
  EXPECT_EQ(*store.customer_of(ada), "cus_A");

  auto taken = store.set_customer(bob, "cus_A");
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().code, Errc::conflict);
  EXPECT_EQ(*store.customer_of(bob), std::nullopt);

  auto nobody = store.set_customer(bob + 1000, "cus_C");
  ASSERT_FALSE(nobody);
  EXPECT_EQ(nobody.error().code, Errc::not_found);
  auto nobody_read = store.customer_of(bob + 1000);
  ASSERT_FALSE(nobody_read);
  EXPECT_EQ(nobody_read.error().code, Errc::not_found);
  auto empty = store.set_customer(bob, "");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, Errc::validation_failed);
  EXPECT_EQ(*store.user_of_customer(""), std::nullopt);
}

TEST_P(BillingStoreTest, ConcurrentCheckoutsKeepOneCustomer) {
  BillingStore store(*db_, clock_);
  const auto ada = add_user("ada");
  std::atomic<int> won{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      auto result = store.set_customer(ada, "cus_" + std::to_string(i));
      if (result) {
        ++won;
      } else {
        EXPECT_EQ(result.error().code, Errc::conflict) << result.error().message;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(won.load(), 1);
  auto customer = store.customer_of(ada);
  ASSERT_TRUE(customer && customer->has_value());
  EXPECT_EQ(*store.user_of_customer(**customer), ada);
}

// ---- Events ----------------------------------------------------------------------------------

TEST_P(BillingStoreTest, ProcessedEventsAreNotProcessedAgain) {
  BillingStore store(*db_, clock_);
  auto first = store.record_event("evt_1", "customer.subscription.updated", kT);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_TRUE(*first);
  // Redelivered before processing finished (a crash, a failed attempt): process it again.
  auto retry = store.record_event("evt_1", "customer.subscription.updated", kT);
  ASSERT_TRUE(retry);
  EXPECT_TRUE(*retry);

  clock_.advance_ms(5);
  ASSERT_TRUE(store.mark_event_processed("evt_1", "applied"));
  auto redelivery = store.record_event("evt_1", "customer.subscription.updated", kT);
  ASSERT_TRUE(redelivery);
  EXPECT_FALSE(*redelivery);

  auto rows = sql("SELECT type, created, received_at, processed_at, outcome FROM stripe_events");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(*rows[0].get<std::string>("type"), "customer.subscription.updated");
  EXPECT_EQ(*rows[0].get<std::int64_t>("created"), kT);
  EXPECT_EQ(*rows[0].get<std::int64_t>("received_at"), kNow);
  EXPECT_EQ(*rows[0].get<std::int64_t>("processed_at"), kNow + 5);
  EXPECT_EQ(*rows[0].get<std::string>("outcome"), "applied");

  EXPECT_TRUE(*store.record_event("evt_2", "invoice.paid", kT));
  auto unknown = store.mark_event_processed("evt_none", "applied");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, Errc::not_found);
  auto bad = store.record_event("", "invoice.paid", kT);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::validation_failed);
  EXPECT_FALSE(store.record_event("evt_3", "", kT));
  EXPECT_FALSE(store.record_event(std::string(256, 'e'), "invoice.paid", kT));
}

TEST_P(BillingStoreTest, PurgeRemovesOnlyOldProcessedEvents) {
  BillingStore store(*db_, clock_);
  ASSERT_TRUE(store.record_event("evt_old", "invoice.paid", kT));
  ASSERT_TRUE(store.mark_event_processed("evt_old", "applied"));
  ASSERT_TRUE(store.record_event("evt_old_unprocessed", "invoice.paid", kT));
  clock_.advance_ms(1000);
  ASSERT_TRUE(store.record_event("evt_new", "invoice.paid", kT));
  ASSERT_TRUE(store.mark_event_processed("evt_new", "applied"));
  auto purged = store.purge_events(kNow + 1);
  ASSERT_TRUE(purged) << purged.error().message;
  EXPECT_EQ(*purged, 1);
  EXPECT_EQ(*sql("SELECT COUNT(*) AS n FROM stripe_events")[0].get<std::int64_t>("n"), 2);
}

// ---- Subscriptions ---------------------------------------------------------------------------

TEST_P(BillingStoreTest, NewUsersAreFreeWithoutSubscription) {
  BillingStore store(*db_, clock_);
  const auto ada = add_user("ada");
  const auto state = state_of(store, ada);
  EXPECT_EQ(state.plan, "free");
  EXPECT_EQ(state.status, std::nullopt);
  EXPECT_EQ(state.subscription_id, std::nullopt);
  EXPECT_FALSE(state.cancel_at_period_end);
  EXPECT_EQ(state.current_period_end, std::nullopt);
  EXPECT_EQ(state.updated_at, std::nullopt);
  auto nobody = store.state(ada + 1000);
  ASSERT_FALSE(nobody);
  EXPECT_EQ(nobody.error().code, Errc::not_found);
}

TEST_P(BillingStoreTest, ApplyingASubscriptionSetsThePlan) {
  BillingStore store(*db_, clock_);
  const auto ada = add_user("ada");
  EXPECT_TRUE(applied(store, ada, snapshot("active", kT)));
  auto state = state_of(store, ada);
  EXPECT_EQ(state.plan, "monthly");
  EXPECT_EQ(state.status, "active");
  EXPECT_EQ(state.subscription_id, "sub_1");
  EXPECT_FALSE(state.cancel_at_period_end);
  EXPECT_EQ(state.current_period_end, kPeriodEnd);
  EXPECT_EQ(state.updated_at, kT);
  // Stored in the schema's unit (ms), with the row's updated_at.
  auto row =
      sql("SELECT subscription_current_period_end AS e, subscription_updated_at AS u, updated_at "
          "FROM users WHERE id = $1",
          {ada});
  EXPECT_EQ(*row[0].get<std::int64_t>("e"), kPeriodEnd * 1000);
  EXPECT_EQ(*row[0].get<std::int64_t>("u"), kT * 1000);
  EXPECT_EQ(*row[0].get<std::int64_t>("updated_at"), kNow);

  // The same state again changes nothing; a later one that differs does.
  EXPECT_FALSE(applied(store, ada, snapshot("active", kT)));
  EXPECT_FALSE(applied(store, ada, snapshot("active", kT + 10)));
  EXPECT_EQ(state_of(store, ada).updated_at, kT + 10);  // but the time held moves on
  auto cancelling = snapshot("active", kT + 20);
  cancelling.cancel_at_period_end = true;
  EXPECT_TRUE(applied(store, ada, cancelling));
  EXPECT_TRUE(state_of(store, ada).cancel_at_period_end);
  EXPECT_EQ(state_of(store, ada).plan, "monthly");

  auto yearly = snapshot("active", kT + 30, "yearly");
  yearly.current_period_end = std::nullopt;
  EXPECT_TRUE(applied(store, ada, yearly));
  state = state_of(store, ada);
  EXPECT_EQ(state.plan, "yearly");
  EXPECT_FALSE(state.cancel_at_period_end);
  EXPECT_EQ(state.current_period_end, std::nullopt);
}

TEST_P(BillingStoreTest, OlderEventsLoseWhateverTheirArrivalOrder) {
  BillingStore store(*db_, clock_);
  const auto ada = add_user("ada");
  // Stripe's order: created (T), updated to cancel at period end (T+100), deleted (T+200).
  const auto created = snapshot("active", kT);
  auto updated = snapshot("active", kT + 100);
  updated.cancel_at_period_end = true;
  const auto deleted = snapshot("canceled", kT + 200);

  // Delivered: deleted, created, updated.
  EXPECT_TRUE(applied(store, ada, deleted));
  EXPECT_FALSE(applied(store, ada, created));
  EXPECT_FALSE(applied(store, ada, updated));
  auto state = state_of(store, ada);
  EXPECT_EQ(state.plan, "free");
  EXPECT_EQ(state.status, "canceled");
  EXPECT_FALSE(state.cancel_at_period_end);
  EXPECT_EQ(state.updated_at, kT + 200);

  // Equal times: the later call wins (Stripe's events of one second are not ordered).
  const auto bob = add_user("bob");
  EXPECT_TRUE(applied(store, bob, snapshot("past_due", kT)));
  EXPECT_TRUE(applied(store, bob, snapshot("active", kT)));
  EXPECT_EQ(state_of(store, bob).status, "active");
}

TEST_P(BillingStoreTest, StatusesThatKeepThePlanAndThoseThatDropIt) {
  BillingStore store(*db_, clock_);
  const auto ada = add_user("ada");
  std::int64_t t = kT;
  for (const auto& [status, plan] : std::vector<std::pair<std::string, std::string>>{
           {"incomplete", "free"},
           {"trialing", "monthly"},
           {"active", "monthly"},
           {"past_due", "monthly"},  // Stripe still retries the payment: access is kept
           {"unpaid", "free"},
           {"active", "monthly"},
           {"paused", "free"},
           {"incomplete_expired", "free"},
           {"active", "monthly"},
           {"canceled", "free"}}) {
    EXPECT_TRUE(applied(store, ada, snapshot(status, ++t))) << status;
    const auto state = state_of(store, ada);
    EXPECT_EQ(state.plan, plan) << status;
    EXPECT_EQ(state.status, status);
  }
  // A price Parley does not sell: subscribed, but free.
  EXPECT_TRUE(applied(store, ada, snapshot("active", ++t, "free")));
  EXPECT_EQ(state_of(store, ada).plan, "free");
  EXPECT_EQ(state_of(store, ada).status, "active");
}

TEST_P(BillingStoreTest, AnOldSubscriptionEndingDoesNotEndTheLiveOne) {
  BillingStore store(*db_, clock_);
  const auto ada = add_user("ada");
  EXPECT_TRUE(applied(store, ada, snapshot("active", kT, "monthly", "sub_old")));
  EXPECT_TRUE(applied(store, ada, snapshot("active", kT + 100, "yearly", "sub_new")));
  // sub_old ends later (it was set to cancel at its period's end): sub_new stays.
  EXPECT_FALSE(applied(store, ada, snapshot("canceled", kT + 200, "monthly", "sub_old")));
  auto state = state_of(store, ada);
  EXPECT_EQ(state.subscription_id, "sub_new");
  EXPECT_EQ(state.plan, "yearly");
  EXPECT_EQ(state.updated_at, kT + 100);
  // sub_new's own end does end it; then another subscription may start.
  EXPECT_TRUE(applied(store, ada, snapshot("canceled", kT + 300, "yearly", "sub_new")));
  EXPECT_EQ(state_of(store, ada).plan, "free");
  EXPECT_TRUE(applied(store, ada, snapshot("active", kT + 400, "monthly", "sub_third")));
  EXPECT_EQ(state_of(store, ada).plan, "monthly");
}

TEST_P(BillingStoreTest, ConcurrentSnapshotsEndWithTheNewest) {
  auto other = open();
  ASSERT_TRUE(other);
  BillingStore first(*db_, clock_);
  BillingStore second(*other, clock_);
  const auto ada = add_user("ada");
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      BillingStore& store = i % 2 == 0 ? first : second;
      for (int j = 0; j < 5; ++j) {
        const std::int64_t t = kT + (j * 8 + i) * 7 % 40;  // every time 0..39 once, shuffled
        auto result = store.apply(ada, snapshot(t == kT + 39 ? "canceled" : "active", t));
        EXPECT_TRUE(result) << result.error().message;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const auto state = state_of(first, ada);
  EXPECT_EQ(state.updated_at, kT + 39);
  EXPECT_EQ(state.status, "canceled");
  EXPECT_EQ(state.plan, "free");
}

TEST_P(BillingStoreTest, BadSnapshotsAreRefused) {
  BillingStore store(*db_, clock_);
  const auto ada = add_user("ada");
  auto period_in_ms = snapshot("active", kT);
  period_in_ms.current_period_end = kPeriodEnd * 1000;
  for (const auto& s :
       {snapshot("active", kT, "gold"), snapshot("", kT), snapshot("active", kT, "monthly", ""),
        snapshot("active", kT * 1000), snapshot("active", -1), period_in_ms}) {
    auto result = store.apply(ada, s);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, Errc::validation_failed);
  }
  auto nobody = store.apply(ada + 1000, snapshot("active", kT));
  ASSERT_FALSE(nobody);
  EXPECT_EQ(nobody.error().code, Errc::not_found);
  EXPECT_EQ(state_of(store, ada).plan, "free");
}

INSTANTIATE_TEST_SUITE_P(Backends, BillingStoreTest,
                         ::testing::Values(testing::DatabaseKind::sqlite,
                                           testing::DatabaseKind::postgres),
                         test::backend_name);

}  // namespace
}  // namespace parley::billing
