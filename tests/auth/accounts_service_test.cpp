// AccountService with a real SQLite database and an injected clock: the time-dependent rules
// (idle guests, session and refresh-token expiry, recent sign-in before deletion) without sleeps.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <vector>

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

// With the session cache: tokens of sessions just checked are answered without the database,
// and every way this process ends a session is seen at once; an end made elsewhere (another
// process writing the database) within the cache's ttl.
class CachedSessionsTest : public AccountServiceTest {
 protected:
  void SetUp() override {
    AccountServiceTest::SetUp();
    sessions_->use_cache(cache_, [this](std::string message) { announced_.push_back(message); });
  }
  Principal signed_in(const SignedIn& who) {
    auto principal = accounts_->authenticate(who.access_token);
    EXPECT_TRUE(principal);
    return *principal;
  }
  SessionCache cache_{clock_, 5s};
  std::vector<std::string> announced_;
};

TEST_F(CachedSessionsTest, ANewOrCheckedSessionIsKnownWithoutTheDatabase) {
  auto user = accounts_->register_user({"c@example.test", "cat", "a decent passphrase", {}},
                                       "127.0.0.1", std::nullopt);
  ASSERT_TRUE(user) << user.error().message;
  auto known = accounts_->authenticate_cached(user->access_token);
  ASSERT_TRUE(known) << "a session this process opened is known at once";
  ASSERT_TRUE(*known);
  EXPECT_EQ((*known)->user_id, user->user.id);
  // A bad token needs no database either.
  auto forged = accounts_->authenticate_cached(user->access_token + "x");
  ASSERT_TRUE(forged);
  EXPECT_EQ(forged->error().code, Errc::unauthorized);
  // Past the ttl only the database can tell; asking it makes the session known again.
  clock_.advance(6s);
  EXPECT_FALSE(accounts_->authenticate_cached(user->access_token));
  EXPECT_TRUE(accounts_->authenticate(user->access_token));
  EXPECT_TRUE(accounts_->authenticate_cached(user->access_token));
}

TEST_F(CachedSessionsTest, LogoutPasswordChangeAndDeletionAreSeenAtOnce) {
  auto first = accounts_->register_user({"d@example.test", "dee", "a decent passphrase", {}},
                                        "127.0.0.1", std::nullopt);
  ASSERT_TRUE(first) << first.error().message;
  auto second =
      accounts_->login({"d@example.test", std::nullopt, "a decent passphrase", "127.0.0.1"});
  ASSERT_TRUE(second) << second.error().message;
  auto third =
      accounts_->login({"d@example.test", std::nullopt, "a decent passphrase", "127.0.0.1"});
  ASSERT_TRUE(third) << third.error().message;
  ASSERT_TRUE(accounts_->authenticate_cached(second->access_token));

  ASSERT_TRUE(accounts_->logout(signed_in(*second)));
  EXPECT_FALSE(accounts_->authenticate_cached(second->access_token));
  EXPECT_EQ(accounts_->authenticate(second->access_token).error().code, Errc::unauthorized);

  auto changed =
      accounts_->change_password(signed_in(*first), "a decent passphrase", "another passphrase!");
  ASSERT_TRUE(changed) << changed.error().message;
  EXPECT_FALSE(accounts_->authenticate_cached(third->access_token));
  EXPECT_EQ(accounts_->authenticate(third->access_token).error().code, Errc::unauthorized);

  auto fresh = signed_in(*changed);
  ASSERT_TRUE(accounts_->authenticate_cached(changed->access_token));
  ASSERT_TRUE(accounts_->delete_account(fresh, "another passphrase!"));
  EXPECT_FALSE(accounts_->authenticate_cached(changed->access_token));
  EXPECT_FALSE(accounts_->authenticate(changed->access_token));

  // Each end was announced for the other processes.
  const auto user = std::to_string(first->user.id);
  EXPECT_NE(std::find(announced_.begin(), announced_.end(),
                      SessionCache::forget_message(second->session_id)),
            announced_.end());
  EXPECT_EQ(std::count(announced_.begin(), announced_.end(), "user " + user), 2)
      << "the password change and the deletion";
}

TEST_F(CachedSessionsTest, ARefreshTokenReplayEndsTheCachedSession) {
  auto user = accounts_->create_guest(std::nullopt, "127.0.0.1");
  ASSERT_TRUE(user);
  ASSERT_TRUE(accounts_->authenticate_cached(user->access_token));
  ASSERT_TRUE(accounts_->refresh(user->refresh_token));
  EXPECT_FALSE(accounts_->refresh(user->refresh_token)) << "the replay";
  EXPECT_FALSE(accounts_->authenticate_cached(user->access_token));
  EXPECT_FALSE(accounts_->authenticate(user->access_token));
}

TEST_F(CachedSessionsTest, AnEndWrittenElsewhereIsSeenWithinTheTtl) {
  auto user = accounts_->create_guest(std::nullopt, "127.0.0.1");
  ASSERT_TRUE(user);
  // Another process revokes the session in the database, and its announcement is lost.
  {
    auto lease = db_->acquire();
    ASSERT_TRUE(lease);
    ASSERT_TRUE((*lease)->execute("UPDATE auth_sessions SET revoked_at = $1 WHERE id = $2",
                                  {clock_.now_ms(), user->session_id}));
  }
  EXPECT_TRUE(accounts_->authenticate(user->access_token)) << "still trusted: within the ttl";
  clock_.advance(5s);
  EXPECT_EQ(accounts_->authenticate(user->access_token).error().code, Errc::unauthorized);
  // An announcement, when it arrives, ends it at once.
  auto other = accounts_->create_guest(std::nullopt, "127.0.0.1");
  ASSERT_TRUE(other);
  EXPECT_TRUE(cache_.apply(SessionCache::forget_user_message(other->user.id)));
  EXPECT_FALSE(accounts_->authenticate_cached(other->access_token));
}

}  // namespace
}  // namespace parley::auth
