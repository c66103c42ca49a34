// The whole Google-style sign-in against a REAL OpenID provider (node oidc-provider, started
// here): OidcClient::start -> browserless login (drive-login.mjs) -> OidcClient::finish, over
// CurlHttpClient and real sockets. Needs `npm ci` at the repository root.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>

#include "auth/oidc/oidc_client.hpp"
#include "core/random.hpp"
#include "outbound/curl_http_client.hpp"
#include "support/child_process.hpp"

namespace parley::auth::oidc {
namespace {

using parley::testing::ChildProcess;

const std::string kSourceDir = PARLEY_SOURCE_DIR;
const std::string kClientId = "parley-e2e";
const std::string kClientSecret = "e2e-secret-6f1c2a9b4d7e8f0a1b2c3d4e5f607182";
// Never contacted: the driver stops at the redirect to it, as a browser would hand it to us.
const std::string kRedirectUri = "http://127.0.0.1:9/auth/google/callback";

std::map<std::string, std::string> node_environment() {
  std::map<std::string, std::string> env;
  for (const char* name : {"PATH", "HOME", "NODE_OPTIONS"}) {
    if (const char* value = std::getenv(name)) env[name] = value;
  }
  if (!env.contains("PATH")) env["PATH"] = "/usr/local/bin:/usr/bin:/bin";
  return env;
}

std::map<std::string, std::string> query_of(const std::string& url) {
  std::map<std::string, std::string> fields;
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return fields;
  for (const auto& param : parsed->params()) fields[param.key] = param.value;
  return fields;
}

class OidcEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    namespace fs = std::filesystem;
    if (!fs::exists(fs::path(kSourceDir) / "node_modules" / "oidc-provider")) {
      FAIL() << "node_modules/oidc-provider is missing: run `npm ci` in " << kSourceDir
             << " (make test does this)";
    }
    provider_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{
            "/usr/bin/env", "node", kSourceDir + "/tests/e2e/oidc/provider.mjs", "--client-id",
            kClientId, "--client-secret", kClientSecret, "--redirect-uri", kRedirectUri},
        node_environment());
    const auto line = provider_->wait_for_line("\"issuer\"", std::chrono::seconds(20));
    ASSERT_TRUE(line) << "the OpenID provider did not start (is `node` on PATH?): "
                      << provider_->read_stderr();
    issuer_ = std::string(boost::json::parse(*line).at("issuer").as_string());

    OidcSettings settings;
    settings.discovery_url = issuer_ + "/.well-known/openid-configuration";
    settings.client_id = kClientId;
    settings.client_secret = kClientSecret;
    settings.redirect_uri = kRedirectUri;
    settings.allowed_issuers = {issuer_};
    client_ = std::make_unique<OidcClient>(http_, clock_, settings);
  }

  /// Runs the browserless login; returns the URL the provider redirected the browser to.
  std::string drive_login(const std::string& authorization_url, bool deny = false) {
    std::vector<std::string> argv{
        "/usr/bin/env",    "node",           kSourceDir + "/tests/e2e/oidc/drive-login.mjs",
        authorization_url, "--redirect-uri", kRedirectUri};
    if (deny) argv.emplace_back("--deny");
    const auto run =
        parley::testing::run_to_completion(argv, node_environment(), std::chrono::seconds(30));
    EXPECT_EQ(run.exit_code, 0) << run.err << "\nprovider: " << provider_->read_stderr();
    std::string url = run.out;
    while (!url.empty() && (url.back() == '\n' || url.back() == '\r')) url.pop_back();
    return url;
  }

  outbound::CurlHttpClient http_;
  core::SystemClock clock_;
  std::unique_ptr<ChildProcess> provider_;
  std::string issuer_;
  std::unique_ptr<OidcClient> client_;
};

TEST_F(OidcEndToEnd, LoginGivesTheTestUsersIdentityAndTheCodeCannotBeReplayed) {
  auto start = client_->start();
  ASSERT_TRUE(start) << start.error().message;
  const std::string callback = drive_login(start->authorization_url);
  ASSERT_EQ(callback.rfind(kRedirectUri + "?", 0), 0U) << callback;
  auto query = query_of(callback);
  ASSERT_TRUE(query.contains("code")) << callback;
  EXPECT_EQ(query["state"], start->state);
  EXPECT_EQ(query["iss"], issuer_);  // RFC 9207 issuer identification

  auto identity = client_->finish(query["code"], start->code_verifier, start->nonce);
  ASSERT_TRUE(identity) << identity.error().message;
  EXPECT_EQ(identity->issuer, issuer_);
  EXPECT_EQ(identity->subject, "test-user-1");
  EXPECT_EQ(identity->email.value_or(""), "ana@example.test");
  EXPECT_TRUE(identity->email_verified);
  EXPECT_EQ(identity->name.value_or(""), "Ana Test");

  // Authorization codes are single use: the provider refuses the replay.
  auto replay = client_->finish(query["code"], start->code_verifier, start->nonce);
  ASSERT_FALSE(replay);
  EXPECT_EQ(oidc_failure_of(replay.error()), OidcFailure::token_exchange_failed)
      << replay.error().message;
}

TEST_F(OidcEndToEnd, WrongCodeVerifierIsRefused) {
  auto start = client_->start();
  ASSERT_TRUE(start) << start.error().message;
  auto query = query_of(drive_login(start->authorization_url));
  ASSERT_TRUE(query.contains("code"));
  const std::string other_verifier = core::random_token(32);
  auto result = client_->finish(query["code"], other_verifier, start->nonce);
  ASSERT_FALSE(result);
  EXPECT_EQ(oidc_failure_of(result.error()), OidcFailure::token_exchange_failed)
      << result.error().message;
  EXPECT_NE(result.error().message.find("invalid_grant"), std::string::npos);
}

TEST_F(OidcEndToEnd, WrongNonceIsRefusedAfterAGoodExchange) {
  auto start = client_->start();
  ASSERT_TRUE(start) << start.error().message;
  auto query = query_of(drive_login(start->authorization_url));
  ASSERT_TRUE(query.contains("code"));
  auto result = client_->finish(query["code"], start->code_verifier, "someone-elses-nonce");
  ASSERT_FALSE(result);
  EXPECT_EQ(oidc_failure_of(result.error()), OidcFailure::nonce_mismatch);
}

TEST_F(OidcEndToEnd, DeniedConsentRedirectsWithAccessDenied) {
  auto start = client_->start();
  ASSERT_TRUE(start) << start.error().message;
  const std::string callback = drive_login(start->authorization_url, /*deny=*/true);
  auto query = query_of(callback);
  EXPECT_EQ(query["error"], "access_denied") << callback;
  EXPECT_EQ(query["state"], start->state);
  EXPECT_FALSE(query.contains("code"));
}

}  // namespace
}  // namespace parley::auth::oidc
