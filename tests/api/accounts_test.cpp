// Accounts through real HTTP against a real server and database: registration, login, tokens,
// refresh rotation, logout, guests, account management and abuse resistance. The main flows run
// on SQLite and on PostgreSQL.

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>

#include "api_test_support.hpp"
#include "auth/access_tokens.hpp"
#include "core/base64.hpp"
#include "store/database.hpp"
#include "support/database_test.hpp"
#include "support/test_server.hpp"

namespace parley::testing {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

constexpr const char* kPassword = "a long and private passphrase";

json::object registration(const std::string& name) {
  return {{"email", name + "@example.test"}, {"username", name}, {"password", kPassword}};
}

class AccountsTest : public ::testing::TestWithParam<DatabaseKind> {
 protected:
  AccountsTest() : server_(GetParam()) {}
  std::uint16_t port() const { return server_.port(); }

  Account register_user(const std::string& name) {
    auto reply = post_json(port(), "/api/register", registration(name));
    EXPECT_EQ(reply.result_int(), 201) << reply.body();
    return account_of(reply);
  }

  // Runs SQL against the server's database (to set up rows the API cannot create yet).
  store::Rows sql(const std::string& statement, std::initializer_list<store::Value> params = {}) {
    auto database = store::open_database(server_.database_url());
    EXPECT_TRUE(database);
    auto lease = (*database)->acquire();
    auto rows = (*lease)->query(statement, params);
    EXPECT_TRUE(rows) << rows.error().message;
    return rows ? *rows : store::Rows{};
  }

  TestServer server_;
};

INSTANTIATE_TEST_SUITE_P(Backends, AccountsTest,
                         ::testing::Values(DatabaseKind::sqlite, DatabaseKind::postgres),
                         backend_name);

TEST_P(AccountsTest, RegisterReturnsTokensAndTheUser) {
  auto reply = post_json(port(), "/api/register",
                         {{"email", "Ana@Example.TEST"},
                          {"username", "ana"},
                          {"password", kPassword},
                          {"preferred_language", "es"},
                          {"is_premium", true},
                          {"plan", "yearly"}});
  ASSERT_EQ(reply.result_int(), 201) << reply.body();
  EXPECT_EQ(reply[http::field::cache_control], "no-store");
  auto body = json_of(reply).as_object();
  EXPECT_EQ(body["token_type"], "Bearer");
  EXPECT_EQ(body["expires_in"], 900);
  EXPECT_FALSE(body["access_token"].as_string().empty());
  EXPECT_FALSE(body["refresh_token"].as_string().empty());
  auto user = body["user"].as_object();
  EXPECT_EQ(user["email"], "ana@example.test");  // stored lower-cased
  EXPECT_EQ(user["username"], "ana");
  EXPECT_EQ(user["is_guest"], false);
  EXPECT_EQ(user["preferred_language"], "es");
  EXPECT_EQ(user["plan"], "free") << "unknown fields must never be applied";
  EXPECT_TRUE(user["avatar_url"].is_null());
  EXPECT_TRUE(user["created_at"].as_string().ends_with("Z"));

  auto me = get_with(port(), "/api/me", std::string(body["access_token"].as_string()));
  ASSERT_EQ(me.result_int(), 200) << me.body();
  EXPECT_EQ(json_of(me).at("user").at("id"), user["id"]);
  EXPECT_EQ(json_of(me).at("user").at("email"), "ana@example.test");
}

TEST_P(AccountsTest, RegisterRejectsBadInput) {
  using Case = std::pair<json::object, int>;
  const std::string long_password(129, 'x');
  const Case cases[] = {
      {{{"username", "bob"}, {"password", kPassword}}, 422},
      {{{"email", "bob@example.test"}, {"password", kPassword}}, 422},
      {{{"email", "bob@example.test"}, {"username", "bob"}}, 422},
      {{{"email", 42}, {"username", "bob"}, {"password", kPassword}}, 422},
      {{{"email", "bob@example.test"}, {"username", json::array{}}, {"password", kPassword}}, 422},
      {{{"email", "not-an-email"}, {"username", "bob"}, {"password", kPassword}}, 422},
      {{{"email", "bob@localhost"}, {"username", "bob"}, {"password", kPassword}}, 422},
      {{{"email", "bob@example.test"}, {"username", "b"}, {"password", kPassword}}, 422},
      {{{"email", "bob@example.test"}, {"username", "bob smith"}, {"password", kPassword}}, 422},
      {{{"email", "bob@example.test"}, {"username", "guest-bob"}, {"password", kPassword}}, 422},
      {{{"email", "bob@example.test"}, {"username", "bob"}, {"password", "seven77"}}, 422},
      {{{"email", "bob@example.test"}, {"username", "bob"}, {"password", long_password}}, 422},
      {{{"email", "bob@example.test"}, {"username", "bob"}, {"password", "password123"}}, 422},
      {{{"email", "bob@example.test"},
        {"username", "bob"},
        {"password", kPassword},
        {"preferred_language", "Spanish!"}},
       422},
  };
  for (const auto& [body, status] : cases) {
    auto reply = post_json(port(), "/api/register", body);
    EXPECT_EQ(reply.result_int(), status) << json::serialize(body) << " -> " << reply.body();
    EXPECT_EQ(error_code_of(reply), "validation_failed") << reply.body();
  }
  auto malformed = request(port(), http::verb::post, "/api/register",
                           "{\"email\":", {{"Content-Type", "application/json"}});
  EXPECT_EQ(malformed.result_int(), 400);
  EXPECT_EQ(error_code_of(malformed), "invalid_request");
  auto form = request(port(), http::verb::post, "/api/register", "email=a@b.c",
                      {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(form.result_int(), 415);
  // Boundaries of the password policy: 8 and 64 characters (emoji count as one) are fine.
  auto eight =
      post_json(port(), "/api/register",
                {{"email", "eight@example.test"}, {"username", "eight"}, {"password", "zq8 vn3x"}});
  EXPECT_EQ(eight.result_int(), 201) << eight.body();
  std::string emoji64;
  for (int i = 0; i < 64; ++i) emoji64 += "😀";
  auto sixty_four =
      post_json(port(), "/api/register",
                {{"email", "emoji@example.test"}, {"username", "emoji"}, {"password", emoji64}});
  EXPECT_EQ(sixty_four.result_int(), 201) << sixty_four.body();
  auto login =
      post_json(port(), "/api/login", {{"email", "emoji@example.test"}, {"password", emoji64}});
  EXPECT_EQ(login.result_int(), 200);
}

TEST_P(AccountsTest, DuplicateEmailOrUsernameIs409) {
  register_user("carol");
  auto same_email =
      post_json(port(), "/api/register",
                {{"email", "CAROL@example.test"}, {"username", "carol2"}, {"password", kPassword}});
  EXPECT_EQ(same_email.result_int(), 409);
  EXPECT_EQ(error_code_of(same_email), "conflict");
  EXPECT_NE(same_email.body().find("email"), std::string::npos);
  auto same_name =
      post_json(port(), "/api/register",
                {{"email", "other@example.test"}, {"username", "carol"}, {"password", kPassword}});
  EXPECT_EQ(same_name.result_int(), 409);
  EXPECT_NE(same_name.body().find("username"), std::string::npos);
}

TEST_P(AccountsTest, LoginByEmailOrUsernameAndUniformFailures) {
  register_user("dave");
  EXPECT_EQ(
      post_json(port(), "/api/login", {{"email", "DAVE@example.test"}, {"password", kPassword}})
          .result_int(),
      200);
  EXPECT_EQ(
      post_json(port(), "/api/login", {{"username", "dave"}, {"password", kPassword}}).result_int(),
      200);
  auto wrong = post_json(port(), "/api/login",
                         {{"email", "dave@example.test"}, {"password", "nope nope nope"}});
  auto unknown = post_json(port(), "/api/login",
                           {{"email", "nobody@example.test"}, {"password", "nope nope nope"}});
  EXPECT_EQ(wrong.result_int(), 401);
  EXPECT_EQ(unknown.result_int(), 401);
  EXPECT_EQ(wrong.body(), unknown.body()) << "no account enumeration";
  EXPECT_EQ(post_json(port(), "/api/login", {{"password", kPassword}}).result_int(), 422);
  EXPECT_EQ(post_json(port(), "/api/login", {{"email", "dave@example.test"}}).result_int(), 422);
  // The password never reaches the logs.
  for (const auto& line : server_.logs().lines()) {
    EXPECT_EQ(line.find(kPassword), std::string::npos) << line;
    EXPECT_EQ(line.find("nope nope nope"), std::string::npos) << line;
  }
}

TEST_P(AccountsTest, RefreshRotatesAndReuseRevokesTheFamily) {
  auto ana = register_user("erin");
  auto first = post_json(port(), "/api/token/refresh", {{"refresh_token", ana.refresh_token}});
  ASSERT_EQ(first.result_int(), 200) << first.body();
  auto rotated = account_of(first);
  EXPECT_NE(rotated.refresh_token, ana.refresh_token);
  EXPECT_EQ(get_with(port(), "/api/me", rotated.access_token).result_int(), 200);

  // Using the old refresh token again: refused, and the whole session is revoked.
  auto reuse = post_json(port(), "/api/token/refresh", {{"refresh_token", ana.refresh_token}});
  EXPECT_EQ(reuse.result_int(), 401);
  EXPECT_EQ(get_with(port(), "/api/me", rotated.access_token).result_int(), 401);
  EXPECT_EQ(post_json(port(), "/api/token/refresh", {{"refresh_token", rotated.refresh_token}})
                .result_int(),
            401);
  EXPECT_EQ(post_json(port(), "/api/token/refresh", {{"refresh_token", "made-up"}}).result_int(),
            401);
  EXPECT_EQ(post_json(port(), "/api/token/refresh", json::object{}).result_int(), 422);
}

TEST_P(AccountsTest, LogoutRevokesBothTokens) {
  auto frank = register_user("frank");
  auto out = post_json(port(), "/api/logout", json::object{}, frank.access_token);
  ASSERT_EQ(out.result_int(), 200) << out.body();
  auto after = get_with(port(), "/api/me", frank.access_token);
  EXPECT_EQ(after.result_int(), 401);
  EXPECT_EQ(after[http::field::www_authenticate], "Bearer");
  EXPECT_EQ(post_json(port(), "/api/token/refresh", {{"refresh_token", frank.refresh_token}})
                .result_int(),
            401);
  EXPECT_EQ(post_json(port(), "/api/logout", json::object{}, frank.access_token).result_int(), 401);
}

TEST_P(AccountsTest, GuestsCanBecomeRegisteredUsersKeepingTheirId) {
  auto reply = post_json(port(), "/api/guest", {{"preferred_language", "ca"}});
  ASSERT_EQ(reply.result_int(), 201) << reply.body();
  auto guest = account_of(reply);
  auto user = json_of(reply).at("user").as_object();
  EXPECT_EQ(user["is_guest"], true);
  EXPECT_TRUE(user["username"].as_string().starts_with("guest-"));
  EXPECT_EQ(user["preferred_language"], "ca");
  EXPECT_EQ(get_with(port(), "/api/me", guest.access_token).result_int(), 200);
  auto no_password =
      post_json(port(), "/api/change-password",
                {{"current_password", "x"}, {"new_password", kPassword}}, guest.access_token);
  EXPECT_EQ(no_password.result_int(), 403);

  auto upgraded = post_json(port(), "/api/register", registration("grace"), guest.access_token);
  ASSERT_EQ(upgraded.result_int(), 201) << upgraded.body();
  auto registered = account_of(upgraded);
  EXPECT_EQ(registered.id, guest.id);
  EXPECT_EQ(json_of(upgraded).at("user").at("is_guest"), false);
  EXPECT_EQ(json_of(upgraded).at("user").at("preferred_language"), "ca");
  EXPECT_EQ(get_with(port(), "/api/me", guest.access_token).result_int(), 401)
      << "the guest session ends with the upgrade";
  // A registered user's token on /api/register is refused, not silently ignored.
  EXPECT_EQ(post_json(port(), "/api/register", registration("henry"), registered.access_token)
                .result_int(),
            409);
}

// --- SQLite only: the rules below do not depend on the database --------------------------

class ManualClock final : public core::Clock {
 public:
  explicit ManualClock(std::int64_t now) : now_(now) {}
  std::int64_t now_ms() const override { return now_; }

 private:
  std::int64_t now_;
};

class AccountsRulesTest : public ::testing::Test {
 protected:
  std::uint16_t port() const { return server_.port(); }
  Account register_user(const std::string& name) {
    auto reply = post_json(port(), "/api/register", registration(name));
    EXPECT_EQ(reply.result_int(), 201) << reply.body();
    return account_of(reply);
  }
  store::Rows sql(const std::string& statement, std::initializer_list<store::Value> params = {}) {
    auto database = store::open_database(server_.database_url());
    auto lease = (*database)->acquire();
    auto rows = (*lease)->query(statement, params);
    EXPECT_TRUE(rows) << rows.error().message;
    return rows ? *rows : store::Rows{};
  }
  std::string session_of(const Account& account) {
    auto rows = sql("SELECT id FROM auth_sessions WHERE user_id = $1 ORDER BY created_at DESC",
                    {account.id});
    return rows.empty() ? "" : rows[0].get<std::string>("id").value();
  }
  // Tokens made with the server's own key and claims, but at another time or with another key.
  std::string forge(const Account& account, std::int64_t now_ms, const std::string& secret,
                    const std::string& issuer = TestServer::kBackendUrl) {
    ManualClock clock(now_ms);
    auth::AccessTokenOptions options;
    options.issuer = issuer;
    options.audience = "parley";
    auth::AccessTokens tokens(auth::AccessKeySet::from_secrets(secret), options, clock);
    return tokens.issue(account.id, false, session_of(account)).token;
  }

  TestServer server_{DatabaseKind::sqlite};
};

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string b64(std::string_view text) { return core::base64url_encode(text); }

TEST_F(AccountsRulesTest, ForgedExpiredTamperedAndAlgNoneTokensGet401) {
  auto ivy = register_user("ivy");
  const std::string secret = TestServer::kJwtSecret;
  // The forging helper itself is sound: a token made now with the right key works.
  EXPECT_EQ(get_with(port(), "/api/me", forge(ivy, now_ms(), secret)).result_int(), 200);

  const std::string expired = forge(ivy, now_ms() - 2 * 3600 * 1000, secret);
  const std::string future = forge(ivy, now_ms() + 3600 * 1000, secret);
  const std::string wrong_key = forge(ivy, now_ms(), std::string(48, 'w'));
  const std::string wrong_issuer = forge(ivy, now_ms(), secret, "http://evil.test");
  std::string tampered = ivy.access_token;
  const auto dot = tampered.find('.');
  tampered[dot + 5] = tampered[dot + 5] == 'A' ? 'B' : 'A';
  const auto payload = tampered.substr(dot + 1, tampered.rfind('.') - dot - 1);
  const std::string alg_none =
      b64(R"({"alg":"none","typ":"JWT"})") + "." +
      ivy.access_token.substr(dot + 1, ivy.access_token.rfind('.') - dot - 1) + ".";
  const std::string hs512 = b64(R"({"alg":"HS512","typ":"JWT"})") + "." + payload + ".c2ln";
  const std::string kid_injection =
      b64(R"({"alg":"HS256","typ":"JWT","kid":"../../dev/null"})") + "." + payload + ".c2ln";
  const std::string sql_kid =
      b64(R"({"alg":"HS256","typ":"JWT","kid":"' OR 1=1--"})") + "." + payload + ".c2ln";
  for (const auto& [name, token] : std::vector<std::pair<std::string, std::string>>{
           {"expired", expired},
           {"not yet valid", future},
           {"wrong key", wrong_key},
           {"wrong issuer", wrong_issuer},
           {"tampered", tampered},
           {"alg none", alg_none},
           {"HS512", hs512},
           {"kid traversal", kid_injection},
           {"kid injection", sql_kid},
           {"garbage", "not.a.token"},
           {"refresh token as bearer", ivy.refresh_token}}) {
    auto reply = get_with(port(), "/api/me", token);
    EXPECT_EQ(reply.result_int(), 401) << name;
    EXPECT_EQ(error_code_of(reply), "unauthorized") << name;
  }
  EXPECT_EQ(get_with(port(), "/api/me").result_int(), 401);
  EXPECT_EQ(request(port(), http::verb::get, "/api/me", "", {{"Authorization", "Basic abc"}})
                .result_int(),
            401);
  // Tokens in URLs are never accepted.
  EXPECT_EQ(get_with(port(), "/api/me?token=" + ivy.access_token).result_int(), 401);
}

TEST_F(AccountsRulesTest, TheEleventhFailureIn15MinutesGets429) {
  register_user("jack");
  register_user("kate");
  for (int i = 0; i < 10; ++i) {
    auto reply =
        post_json(port(), "/api/login", {{"username", "jack"}, {"password", "wrong wrong wrong"}});
    ASSERT_EQ(reply.result_int(), 401) << i;
  }
  auto eleventh =
      post_json(port(), "/api/login", {{"username", "jack"}, {"password", "wrong wrong wrong"}});
  EXPECT_EQ(eleventh.result_int(), 429);
  EXPECT_EQ(error_code_of(eleventh), "rate_limited");
  const int retry_after = std::stoi(std::string(eleventh[http::field::retry_after]));
  EXPECT_GT(retry_after, 0);
  EXPECT_LE(retry_after, 15 * 60);
  // Even the right password waits now; another account is not affected.
  EXPECT_EQ(
      post_json(port(), "/api/login", {{"username", "jack"}, {"password", kPassword}}).result_int(),
      429);
  EXPECT_EQ(
      post_json(port(), "/api/login", {{"username", "kate"}, {"password", kPassword}}).result_int(),
      200);
}

TEST(AccountsLimits, RegistrationAndGuestCreationAreRateLimitedPerAddress) {
  TestServer server(DatabaseKind::sqlite,
                    {{"PARLEY_REGISTER_PER_HOUR", "2"}, {"PARLEY_GUESTS_PER_HOUR", "2"}});
  // burst = half the hourly count, at least one.
  EXPECT_EQ(post_json(server.port(), "/api/register", registration("lim1")).result_int(), 201);
  auto refused = post_json(server.port(), "/api/register", registration("lim2"));
  EXPECT_EQ(refused.result_int(), 429);
  EXPECT_FALSE(refused[http::field::retry_after].empty());
  EXPECT_EQ(post_json(server.port(), "/api/guest", json::object{}).result_int(), 201);
  EXPECT_EQ(post_json(server.port(), "/api/guest", json::object{}).result_int(), 429);
}

TEST_F(AccountsRulesTest, APythonMadeBcryptHashVerifiesAndIsUpgraded) {
  // Flask-Bcrypt 1.0.1's format (SECURITY.md A4): $2b$, 12 rounds, UTF-8.
  const std::string legacy = "$2b$12$abcdefghijklmnopqrstuu0sDWleciW5uGBGYwxpcgAsh9WK4bWNy";
  sql("INSERT INTO users (email, username, password_hash, auth_provider, is_guest, created_at, "
      "updated_at) VALUES ('legacy@example.test', 'legacy', $1, 'password', 0, 1, 1)",
      {legacy});
  auto reply =
      post_json(port(), "/api/login",
                {{"email", "legacy@example.test"}, {"password", "correct horse battery staple"}});
  ASSERT_EQ(reply.result_int(), 200) << reply.body();
  auto stored = sql("SELECT password_hash FROM users WHERE username = 'legacy'")[0]
                    .get<std::string>("password_hash")
                    .value();
  EXPECT_TRUE(stored.starts_with("$parley-hmac-sha256$")) << stored;
  EXPECT_EQ(
      post_json(port(), "/api/login",
                {{"email", "legacy@example.test"}, {"password", "correct horse battery staple"}})
          .result_int(),
      200);
  EXPECT_EQ(
      post_json(port(), "/api/login",
                {{"email", "legacy@example.test"}, {"password", "Correct horse battery staple"}})
          .result_int(),
      401);
}

TEST_F(AccountsRulesTest, ChangePasswordEndsEveryOtherSession) {
  auto liam = register_user("liam");
  auto other_device =
      account_of(post_json(port(), "/api/login", {{"username", "liam"}, {"password", kPassword}}));
  const std::string replacement = "an entirely new passphrase";
  auto wrong = post_json(port(), "/api/change-password",
                         {{"current_password", "not it at all"}, {"new_password", replacement}},
                         liam.access_token);
  EXPECT_EQ(wrong.result_int(), 403);
  auto weak =
      post_json(port(), "/api/change-password",
                {{"current_password", kPassword}, {"new_password", "short"}}, liam.access_token);
  EXPECT_EQ(weak.result_int(), 422);
  auto changed = post_json(port(), "/api/change-password",
                           {{"current_password", kPassword}, {"new_password", replacement}},
                           liam.access_token);
  ASSERT_EQ(changed.result_int(), 200) << changed.body();
  auto fresh = account_of(changed);
  EXPECT_EQ(get_with(port(), "/api/me", fresh.access_token).result_int(), 200);
  EXPECT_EQ(get_with(port(), "/api/me", liam.access_token).result_int(), 401);
  EXPECT_EQ(get_with(port(), "/api/me", other_device.access_token).result_int(), 401);
  EXPECT_EQ(post_json(port(), "/api/token/refresh", {{"refresh_token", other_device.refresh_token}})
                .result_int(),
            401);
  EXPECT_EQ(
      post_json(port(), "/api/login", {{"username", "liam"}, {"password", kPassword}}).result_int(),
      401);
  EXPECT_EQ(post_json(port(), "/api/login", {{"username", "liam"}, {"password", replacement}})
                .result_int(),
            200);
}

TEST_F(AccountsRulesTest, RenameAndLanguage) {
  auto mia = register_user("mia");
  register_user("noah");
  auto renamed =
      post_json(port(), "/api/update-username", {{"username", "mia_2"}}, mia.access_token);
  ASSERT_EQ(renamed.result_int(), 200) << renamed.body();
  EXPECT_EQ(json_of(renamed).at("user").at("username"), "mia_2");
  EXPECT_EQ(post_json(port(), "/api/update-username", {{"username", "noah"}}, mia.access_token)
                .result_int(),
            409);
  EXPECT_EQ(
      post_json(port(), "/api/update-username", {{"username", "x"}}, mia.access_token).result_int(),
      422);
  EXPECT_EQ(post_json(port(), "/api/update-username", {{"username", "mia3"}}).result_int(), 401);
  auto language = post_json(port(), "/api/update-preferred-language",
                            {{"preferred_language", "zh-Hans"}}, mia.access_token);
  ASSERT_EQ(language.result_int(), 200) << language.body();
  EXPECT_EQ(json_of(language).at("user").at("preferred_language"), "zh-Hans");
  EXPECT_EQ(post_json(port(), "/api/update-preferred-language", {{"preferred_language", "Chinese"}},
                      mia.access_token)
                .result_int(),
            422);
}

TEST_F(AccountsRulesTest, DeleteAccountNeedsThePasswordAndKeepsMessagesAsDeletedUser) {
  auto olga = register_user("olga");
  auto room = sql("INSERT INTO chatrooms (name, creator_id, created_at, updated_at) "
                  "VALUES ('lobby', $1, 1, 1) RETURNING id",
                  {olga.id})[0]
                  .get<std::int64_t>("id")
                  .value();
  sql("INSERT INTO memberships (chatroom_id, user_id, role, joined_at) VALUES ($1, $2, 'owner', 1)",
      {room, olga.id});
  sql("INSERT INTO messages (chatroom_id, room_seq, sender_id, kind, text, created_at) "
      "VALUES ($1, 1, $2, 'text', 'hola', 1)",
      {room, olga.id});

  auto chatrooms =
      get_with(port(), "/api/user-chatrooms/" + std::to_string(olga.id), olga.access_token);
  ASSERT_EQ(chatrooms.result_int(), 200) << chatrooms.body();
  EXPECT_EQ(json_of(chatrooms).at("chatrooms").as_array().size(), 1u);
  EXPECT_EQ(json_of(chatrooms).at("chatrooms").at(0).at("role"), "owner");
  auto paul = register_user("paul");
  EXPECT_EQ(get_with(port(), "/api/user-chatrooms/" + std::to_string(olga.id), paul.access_token)
                .result_int(),
            403);

  EXPECT_EQ(
      post_json(port(), "/api/delete-account", json::object{}, olga.access_token).result_int(),
      403);
  EXPECT_EQ(
      post_json(port(), "/api/delete-account", {{"password", "not my password"}}, olga.access_token)
          .result_int(),
      403);
  auto deleted =
      post_json(port(), "/api/delete-account", {{"password", kPassword}}, olga.access_token);
  ASSERT_EQ(deleted.result_int(), 200) << deleted.body();
  EXPECT_EQ(get_with(port(), "/api/me", olga.access_token).result_int(), 401);
  EXPECT_EQ(
      post_json(port(), "/api/token/refresh", {{"refresh_token", olga.refresh_token}}).result_int(),
      401);
  EXPECT_EQ(
      post_json(port(), "/api/login", {{"username", "olga"}, {"password", kPassword}}).result_int(),
      401);
  auto messages = sql("SELECT sender_id, text FROM messages WHERE chatroom_id = $1", {room});
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_FALSE(messages[0].try_get<std::int64_t>("sender_id").has_value());
  EXPECT_EQ(messages[0].get<std::string>("text").value(), "hola");
  EXPECT_TRUE(sql("SELECT 1 FROM users WHERE id = $1", {olga.id}).empty());
}

TEST(AccountsTiming, UnknownUsersCostTheSameAsWrongPasswords) {
  // A real bcrypt cost, so that a missing dummy hash would show as a large difference.
  TestServer server(DatabaseKind::sqlite, {{"PARLEY_BCRYPT_COST", "10"}});
  ASSERT_EQ(post_json(server.port(), "/api/register", registration("quinn")).result_int(), 201);
  // Known and unknown logins alternate, so that a busy machine slows both alike; medians of 9.
  const auto login_ms = [&](const std::string& email) {
    const auto start = std::chrono::steady_clock::now();
    auto reply = post_json(server.port(), "/api/login",
                           {{"email", email}, {"password", "a wrong password"}});
    EXPECT_EQ(reply.result_int(), 401);
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
  };
  std::vector<double> known_samples;
  std::vector<double> unknown_samples;
  for (int i = 0; i < 9; ++i) {
    known_samples.push_back(login_ms("quinn@example.test"));
    unknown_samples.push_back(login_ms("nobody-at-all@example.test"));
  }
  const auto median = [](std::vector<double> samples) {
    std::sort(samples.begin(), samples.end());
    return samples[samples.size() / 2];
  };
  const double known = median(known_samples);
  const double unknown = median(unknown_samples);
  // Both pay one bcrypt (tens of ms at cost 10); without the dummy hash `unknown` would be ~1 ms,
  // a ratio near 0.02: the bounds leave room for a noisy machine and still catch that.
  EXPECT_GT(unknown, known * 0.3) << "known " << known << " ms, unknown " << unknown << " ms";
  EXPECT_LT(unknown, known * 3.0) << "known " << known << " ms, unknown " << unknown << " ms";
}

}  // namespace
}  // namespace parley::testing
