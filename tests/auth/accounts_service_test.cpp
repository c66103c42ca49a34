// AccountService with a real SQLite database and an injected clock: the time-dependent rules
// (idle guests, session and refresh-token expiry, recent sign-in before deletion) without sleeps.

#include <gtest/gtest.h>

#include <atomic>

#include "auth/accounts.hpp"
#include "store/migrations/migrator.hpp"
#include "support/test_database.hpp"

namespace parley::auth {
namespace {

using namespace std::chrono_literals;

class ManualClock final : public core::Clock {
 public:
  std::int64_t now_ms() const override { return now.load(); }
  void advance(std::chrono::milliseconds by) { now += by.count(); }
  std::atomic<std::int64_t> now{1'700'000'000'000};
};

class AccountServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::open_database(database_.url());
    ASSERT_TRUE(db) << db.error().message;
    db_ = std::move(*db);
    ASSERT_TRUE(store::migrate(*db_));
    settings_.session_lifetime = 24h;
    settings_.refresh_lifetime = 24h;
    settings_.guest_idle_lifetime = 7 * 24h;
    users_ = std::make_unique<UserStore>(*db_, clock_);
    sessions_ = std::make_unique<SessionStore>(*db_, clock_, settings_.session_lifetime,
                                               settings_.refresh_lifetime);
    AccessTokenOptions token_options;
    token_options.issuer = "t";
    token_options.audience = "parley";
    tokens_ = std::make_unique<AccessTokens>(AccessKeySet::from_secrets(std::string(40, 'k')),
                                             token_options, clock_);
    accounts_ = std::make_unique<AccountService>(*users_, *sessions_, hasher_, policy_, *tokens_,
                                                 limiter_, clock_, settings_);
  }

  testing::TestDatabase database_{testing::DatabaseKind::sqlite};
  std::unique_ptr<store::Database> db_;
  ManualClock clock_;
  core::InMemoryRateLimiter limiter_{clock_};
  static PasswordHasher cheap_hasher() {
    PasswordHasherOptions options;
    options.cost = 4;
    return PasswordHasher::insecure_for_tests(options);
  }

  PasswordHasher hasher_ = cheap_hasher();
  PasswordPolicy policy_;
  AccountSettings settings_;
  std::unique_ptr<UserStore> users_;
  std::unique_ptr<SessionStore> sessions_;
  std::unique_ptr<AccessTokens> tokens_;
  std::unique_ptr<AccountService> accounts_;
};

TEST_F(AccountServiceTest, IdleGuestsAreRemovedActiveOnesStay) {
  auto idle = accounts_->create_guest(std::nullopt, "127.0.0.1");
  ASSERT_TRUE(idle);
  clock_.advance(6 * 24h);
  auto active = accounts_->create_guest(std::nullopt, "127.0.0.1");
  ASSERT_TRUE(active);
  clock_.advance(2 * 24h);  // idle: 8 days unseen; active: 2 days
  auto removed = accounts_->remove_idle_guests();
  ASSERT_TRUE(removed);
  EXPECT_EQ(users_->find_by_id(idle->user.id).error().code, Errc::not_found);
  EXPECT_TRUE(users_->find_by_id(active->user.id));
  // Its tokens died with it.
  EXPECT_FALSE(accounts_->authenticate(idle->access_token));
}

TEST_F(AccountServiceTest, SessionsEndAtTheirAbsoluteLifetime) {
  auto user = accounts_->register_user({"s@example.test", "sam", "a decent passphrase", {}},
                                       "127.0.0.1", std::nullopt);
  ASSERT_TRUE(user) << user.error().message;
  clock_.advance(10min);
  auto refreshed = accounts_->refresh(user->refresh_token);
  ASSERT_TRUE(refreshed);
  clock_.advance(24h);
  EXPECT_EQ(accounts_->refresh(refreshed->refresh_token).error().code, Errc::unauthorized);
}

TEST_F(AccountServiceTest, AccountsWithoutPasswordNeedARecentSignInToBeDeleted) {
  ExternalIdentity google{AuthProvider::google, "google-sub-1", "https://accounts.google.com",
                          "g@example.test",     true,           "Gina"};
  auto signed_in = accounts_->sign_in_external(google);
  ASSERT_TRUE(signed_in) << signed_in.error().message;
  EXPECT_EQ(signed_in->user.username, "Gina");
  auto principal = accounts_->authenticate(signed_in->access_token);
  ASSERT_TRUE(principal);
  clock_.advance(11min);
  EXPECT_EQ(accounts_->delete_account(*principal, std::nullopt).error().code, Errc::forbidden);
  auto again = accounts_->sign_in_external(google);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->user.id, signed_in->user.id);
  auto fresh = accounts_->authenticate(again->access_token);
  ASSERT_TRUE(fresh);
  EXPECT_TRUE(accounts_->delete_account(*fresh, std::nullopt));
  // Unverified e-mail addresses are refused.
  ExternalIdentity unverified{AuthProvider::google, "google-sub-2", "https://accounts.google.com",
                              "u@example.test",     false,          {}};
  EXPECT_EQ(accounts_->sign_in_external(unverified).error().code, Errc::forbidden);
  // The same subject at another issuer is another person.
  ExternalIdentity elsewhere{AuthProvider::google, "google-sub-1", "https://other.example",
                             "g2@example.test",    true,           "Gina"};
  auto other = accounts_->sign_in_external(elsewhere);
  ASSERT_TRUE(other) << other.error().message;
  EXPECT_NE(other->user.id, signed_in->user.id);
}

}  // namespace
}  // namespace parley::auth
