// Google sign-in end to end: Parley's /api/auth/google routes against a REAL OpenID provider
// (node oidc-provider on 127.0.0.1, tests/e2e/oidc/provider.mjs), driven like a browser by
// tests/e2e/oidc/drive-login.mjs. Every failure must land on FRONTEND_URL with an error code.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>
#include <filesystem>
#include <map>

#include "api_test_support.hpp"
#include "support/child_process.hpp"
#include "support/test_server.hpp"

namespace parley::testing {
namespace {

const std::string kSourceDir = PARLEY_SOURCE_DIR;
const std::string kClientId = "parley-google-e2e";
const std::string kClientSecret = "e2e-secret-0f1e2d3c4b5a69788796a5b4c3d2e1f0";
constexpr const char* kFrontend = "http://frontend.test";

std::map<std::string, std::string> node_environment() {
  std::map<std::string, std::string> env;
  for (const char* name : {"PATH", "HOME"}) {
    if (const char* value = std::getenv(name)) env[name] = value;
  }
  if (!env.contains("PATH")) env["PATH"] = "/usr/local/bin:/usr/bin:/bin";
  return env;
}

std::map<std::string, std::string> fields_of(std::string_view encoded) {
  std::map<std::string, std::string> out;
  const std::string target = "/?" + std::string(encoded);  // the view below points into it
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) return out;
  for (const auto& param : parsed->params()) out[param.key] = param.value;
  return out;
}

class GoogleSignInTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(std::filesystem::path(kSourceDir) / "node_modules" /
                                        "oidc-provider"))
        << "node_modules is missing: run `npm ci` in " << kSourceDir << " (make test does this)";
    // The provider must know Parley's redirect URI, which needs Parley's port: reserve the
    // server first with the provider's URL unknown, so start the provider on a fixed redirect
    // that the test server will use (BACKEND_URL decides the redirect URI).
    backend_ = "http://127.0.0.1:" + std::to_string(reserve_port());
    provider_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{"/usr/bin/env", "node",
                                 kSourceDir + "/tests/e2e/oidc/provider.mjs", "--client-id",
                                 kClientId, "--client-secret", kClientSecret, "--redirect-uri",
                                 backend_ + "/api/auth/google/callback"},
        node_environment());
    const auto line = provider_->wait_for_line("\"issuer\"", std::chrono::seconds(20));
    ASSERT_TRUE(line) << "the OpenID provider did not start: " << provider_->read_stderr();
    const std::string discovery(boost::json::parse(*line).at("discovery_url").as_string());
    server_ = std::make_unique<TestServer>(
        DatabaseKind::sqlite, std::map<std::string, std::string>{
                                  {"GOOGLE_CLIENT_ID", kClientId},
                                  {"GOOGLE_CLIENT_SECRET", kClientSecret},
                                  {"GOOGLE_DISCOVERY_URL", discovery},
                                  {"BACKEND_URL", backend_},
                                  {"FRONTEND_URL", kFrontend},
                                  {"PARLEY_PORT", backend_.substr(backend_.rfind(':') + 1)}});
  }

  // A free port now (bound and released); the server binds it right after.
  static std::uint16_t reserve_port() {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    return acceptor.local_endpoint().port();
  }

  struct Started {
    std::string authorization_url;
    std::string cookie;  // "name=value"
  };
  Started start() {
    auto reply = get_with(server_->port(), "/api/auth/google");
    EXPECT_EQ(reply.result_int(), 302) << reply.body();
    std::string cookie(reply[http::field::set_cookie]);
    EXPECT_NE(cookie.find("HttpOnly"), std::string::npos) << cookie;
    EXPECT_NE(cookie.find("SameSite=Lax"), std::string::npos) << cookie;
    return {std::string(reply[http::field::location]), cookie.substr(0, cookie.find(';'))};
  }

  std::string drive_login(const std::string& url, bool deny = false) {
    std::vector<std::string> argv{"/usr/bin/env",
                                  "node",
                                  kSourceDir + "/tests/e2e/oidc/drive-login.mjs",
                                  url,
                                  "--redirect-uri",
                                  backend_ + "/api/auth/google/callback"};
    if (deny) argv.emplace_back("--deny");
    auto run = run_to_completion(argv, node_environment(), std::chrono::seconds(30));
    EXPECT_EQ(run.exit_code, 0) << run.err;
    std::string out = run.out;
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
  }

  // Follows the provider's redirect back into Parley, as the browser would, with the cookie.
  Reply callback(const std::string& callback_url, const std::string& cookie) {
    const std::string path = callback_url.substr(backend_.size());
    Headers headers;
    if (!cookie.empty()) headers.emplace_back("Cookie", cookie);
    return request(server_->port(), http::verb::get, path, "", headers);
  }

  // The fragment of a redirect to the front end, as fields.
  std::map<std::string, std::string> landing(const Reply& reply) {
    EXPECT_EQ(reply.result_int(), 302) << reply.body();
    const std::string location(reply[http::field::location]);
    EXPECT_TRUE(location.starts_with(std::string(kFrontend) + "/#")) << location;
    return fields_of(location.substr(location.find('#') + 1));
  }

  std::string backend_;
  std::unique_ptr<ChildProcess> provider_;
  std::unique_ptr<TestServer> server_;
};

TEST_F(GoogleSignInTest, SignsInCreatesTheAccountAndCannotBeReplayed) {
  auto begun = start();
  ASSERT_FALSE(begun.authorization_url.empty());
  auto query = fields_of(begun.authorization_url.substr(begun.authorization_url.find('?') + 1));
  EXPECT_EQ(query["code_challenge_method"], "S256");
  EXPECT_FALSE(query["nonce"].empty());
  EXPECT_FALSE(query["state"].empty());

  const std::string back = drive_login(begun.authorization_url);
  auto signed_in = landing(callback(back, begun.cookie));
  ASSERT_TRUE(signed_in.contains("access_token")) << "error: " << signed_in["error"];
  EXPECT_EQ(signed_in["token_type"], "Bearer");
  auto me = get_with(server_->port(), "/api/me", signed_in["access_token"]);
  ASSERT_EQ(me.result_int(), 200) << me.body();
  EXPECT_EQ(json_of(me).at("user").at("email"), "ana@example.test");
  EXPECT_EQ(json_of(me).at("user").at("is_guest"), false);
  // The refresh token from the fragment works like any other.
  EXPECT_EQ(post_json(server_->port(), "/api/token/refresh",
                      {{"refresh_token", signed_in["refresh_token"]}})
                .result_int(),
            200);

  // Replaying the same callback: the state is spent.
  auto replay = landing(callback(back, begun.cookie));
  EXPECT_EQ(replay["error"], "invalid_state");

  // A second sign-in finds the same account by (issuer, subject).
  auto again = start();
  auto second = landing(callback(drive_login(again.authorization_url), again.cookie));
  ASSERT_TRUE(second.contains("access_token"));
  EXPECT_EQ(
      json_of(get_with(server_->port(), "/api/me", second["access_token"])).at("user").at("id"),
      json_of(me).at("user").at("id"));
}

TEST_F(GoogleSignInTest, DeniedConsentBadStateAndAnotherBrowserLandWithErrors) {
  auto denied = start();
  EXPECT_EQ(landing(callback(drive_login(denied.authorization_url, true), denied.cookie))["error"],
            "access_denied");

  auto tampered = start();
  std::string back = drive_login(tampered.authorization_url);
  const auto at = back.find("state=") + 6;
  back[at] = back[at] == 'A' ? 'B' : 'A';
  EXPECT_EQ(landing(callback(back, tampered.cookie))["error"], "invalid_state");

  auto stolen = start();
  const std::string stolen_back = drive_login(stolen.authorization_url);
  EXPECT_EQ(landing(callback(stolen_back, "parley_oauth=someone-elses-browser"))["error"],
            "invalid_state");
  EXPECT_EQ(landing(callback(stolen_back, ""))["error"], "invalid_state");
  EXPECT_EQ(landing(callback(backend_ + "/api/auth/google/callback", ""))["error"],
            "invalid_request");

  // Nothing half-made: no account exists after these failures.
  auto login = post_json(server_->port(), "/api/login",
                         {{"email", "ana@example.test"}, {"password", "whatever it is"}});
  EXPECT_EQ(login.result_int(), 401);
}

TEST_F(GoogleSignInTest, AnExistingPasswordAccountWithThatEmailIsNotTakenOver) {
  ASSERT_EQ(post_json(server_->port(), "/api/register",
                      {{"email", "ana@example.test"},
                       {"username", "ana"},
                       {"password", "ana's own passphrase"}})
                .result_int(),
            201);
  auto begun = start();
  EXPECT_EQ(landing(callback(drive_login(begun.authorization_url), begun.cookie))["error"],
            "account_exists");
}

TEST(GoogleSignInOff, TheRoutesSay404WhenGoogleIsNotConfigured) {
  TestServer server;
  auto reply = get_with(server.port(), "/api/auth/google");
  EXPECT_EQ(reply.result_int(), 404);
  EXPECT_EQ(error_code_of(reply), "not_found");
}

}  // namespace
}  // namespace parley::testing
