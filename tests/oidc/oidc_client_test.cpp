// OidcClient against an in-memory fake provider (FakeHttpClient) with RSA keys generated here:
// the whole authorization-code flow plus the attacks of SECURITY.md items 11-16 and 21-24.

#include "auth/oidc/oidc_client.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <atomic>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/parse_query.hpp>
#include <boost/url/url.hpp>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "core/base64.hpp"
#include "test_tokens.hpp"

namespace parley::auth::oidc {
namespace {

namespace json = boost::json;
using outbound::HttpRequest;
using outbound::HttpResponse;
using parley::testing::TestRsaKey;

constexpr const char* kIssuer = "https://op.test";
constexpr const char* kDiscoveryUrl = "https://op.test/.well-known/openid-configuration";
constexpr const char* kJwksUrl = "https://op.test/jwks";
constexpr const char* kTokenUrl = "https://op.test/token";
constexpr const char* kClientId = "client-1";
constexpr const char* kClientSecret = "s3cret:with&odd chars";
constexpr const char* kRedirectUri = "https://parley.test/auth/google/callback";

class FakeClock final : public core::Clock {
 public:
  std::int64_t now_ms() const override { return now_ms_; }
  void advance(std::chrono::milliseconds by) { now_ms_ += by.count(); }
  std::int64_t now_seconds() const { return now_ms_ / 1000; }

 private:
  std::atomic<std::int64_t> now_ms_{1'700'000'000'000};
};

/// An in-memory provider: one handler per URL (without query), a request log.
class FakeHttpClient final : public outbound::HttpClient {
 public:
  using Handler = std::function<Result<HttpResponse>(const HttpRequest&)>;

  void route(const std::string& url, Handler handler) {
    std::lock_guard lock(mutex_);
    routes_[url] = std::move(handler);
  }
  Result<HttpResponse> send(const HttpRequest& request) override {
    Handler handler;
    {
      std::lock_guard lock(mutex_);
      log_.push_back(request);
      const auto it = routes_.find(request.url);
      if (it == routes_.end()) return fail(Errc::unavailable, "no route");
      handler = it->second;
    }
    return handler(request);
  }
  int count(const std::string& url) {
    std::lock_guard lock(mutex_);
    return static_cast<int>(std::count_if(log_.begin(), log_.end(),
                                          [&](const HttpRequest& r) { return r.url == url; }));
  }
  HttpRequest last(const std::string& url) {
    std::lock_guard lock(mutex_);
    for (auto it = log_.rbegin(); it != log_.rend(); ++it) {
      if (it->url == url) return *it;
    }
    return {};
  }
  std::vector<HttpRequest> log() {
    std::lock_guard lock(mutex_);
    return log_;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, Handler> routes_;
  std::vector<HttpRequest> log_;
};

HttpResponse json_response(int status, const json::value& body,
                           outbound::HttpHeaders headers = {}) {
  headers.add("Content-Type", "application/json");
  return HttpResponse{status, std::move(headers), json::serialize(body)};
}

json::object discovery_document() {
  return {{"issuer", kIssuer},
          {"authorization_endpoint", "https://op.test/auth?prompt=select_account"},
          {"token_endpoint", kTokenUrl},
          {"jwks_uri", kJwksUrl},
          {"id_token_signing_alg_values_supported", json::array{"RS256"}},
          {"code_challenge_methods_supported", json::array{"plain", "S256"}},
          {"token_endpoint_auth_methods_supported",
           json::array{"client_secret_post", "client_secret_basic"}}};
}

std::map<std::string, std::string> parse_form(std::string_view text) {
  std::map<std::string, std::string> fields;
  auto params = boost::urls::parse_query(text);
  if (!params) return fields;
  for (const auto& param : *params) fields[param.key.decode()] = param.value.decode();
  return fields;
}

class OidcClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    signing_key_ = new TestRsaKey("key-1");
    rotated_key_ = new TestRsaKey("key-2");
    attacker_key_ = new TestRsaKey("key-1");  // same kid as the real key, different key
  }
  static void TearDownTestSuite() {
    delete signing_key_;
    delete rotated_key_;
    delete attacker_key_;
  }

  void SetUp() override {
    http_.route(kDiscoveryUrl, [this](const HttpRequest&) {
      return Result<HttpResponse>(json_response(200, discovery_));
    });
    http_.route(kJwksUrl, [this](const HttpRequest&) {
      json::array keys;
      for (const auto* key : published_keys_) keys.push_back(key->jwk());
      outbound::HttpHeaders headers;
      if (!jwks_cache_control_.empty()) headers.add("Cache-Control", jwks_cache_control_);
      return Result<HttpResponse>(json_response(200, json::object{{"keys", keys}}, headers));
    });
    http_.route(kTokenUrl, [this](const HttpRequest& request) -> Result<HttpResponse> {
      {
        std::lock_guard lock(token_mutex_);
        token_requests_.push_back(request);
      }
      if (token_response_) return token_response_(request);
      return json_response(200, json::object{{"access_token", "at"},
                                             {"token_type", "Bearer"},
                                             {"expires_in", 3600},
                                             {"id_token", id_token_}});
    });
  }

  OidcSettings settings() const {
    OidcSettings s;
    s.discovery_url = kDiscoveryUrl;
    s.client_id = kClientId;
    s.client_secret = kClientSecret;
    s.redirect_uri = kRedirectUri;
    s.allowed_issuers = {kIssuer};
    return s;
  }

  json::object header(const TestRsaKey& key) const {
    return {{"alg", "RS256"}, {"kid", key.kid()}, {"typ", "JWT"}};
  }
  json::object claims() const {
    return {{"iss", kIssuer},
            {"aud", kClientId},
            {"azp", kClientId},
            {"sub", "test-user-1"},
            {"iat", clock_.now_seconds() - 5},
            {"exp", clock_.now_seconds() + 3600},
            {"nonce", nonce_},
            {"email", "ana@example.test"},
            {"email_verified", true},
            {"name", "Ana"},
            {"picture", "https://example.test/ana.png"}};
  }

  /// Runs finish() with id_token_ as the provider's answer; returns the failure, if any.
  std::optional<OidcFailure> finish_failure(OidcClient& client) {
    auto result = client.finish("the-code", verifier_, nonce_);
    if (result) return std::nullopt;
    EXPECT_TRUE(oidc_failure_of(result.error())) << result.error().message;
    return oidc_failure_of(result.error());
  }

  static TestRsaKey* signing_key_;
  static TestRsaKey* rotated_key_;
  static TestRsaKey* attacker_key_;

  FakeClock clock_;
  FakeHttpClient http_;
  json::object discovery_ = discovery_document();
  std::vector<const TestRsaKey*> published_keys_ = {signing_key_};
  std::string jwks_cache_control_;
  std::string id_token_;
  std::function<Result<HttpResponse>(const HttpRequest&)> token_response_;
  std::mutex token_mutex_;
  std::vector<HttpRequest> token_requests_;
  std::string nonce_ = "nonce-abc";
  std::string verifier_ = std::string(43, 'v');
};

TestRsaKey* OidcClientTest::signing_key_ = nullptr;
TestRsaKey* OidcClientTest::rotated_key_ = nullptr;
TestRsaKey* OidcClientTest::attacker_key_ = nullptr;

TEST_F(OidcClientTest, StartBuildsAnAuthorizationRequestWithPkceStateAndNonce) {
  OidcClient client(http_, clock_, settings());
  auto start = client.start();
  ASSERT_TRUE(start) << start.error().message;
  EXPECT_EQ(start->state.size(), 43U);  // 32 bytes, base64url, unpadded
  EXPECT_EQ(start->nonce.size(), 43U);
  EXPECT_EQ(start->code_verifier.size(), 43U);
  EXPECT_NE(start->state, start->nonce);

  auto url = boost::urls::parse_absolute_uri(start->authorization_url);
  ASSERT_TRUE(url) << start->authorization_url;
  EXPECT_EQ(url->scheme(), "https");
  EXPECT_EQ(url->encoded_host(), "op.test");
  EXPECT_EQ(url->path(), "/auth");
  const auto query = parse_form(url->encoded_query());
  EXPECT_EQ(query.at("prompt"), "select_account");  // the endpoint's own query is kept
  EXPECT_EQ(query.at("response_type"), "code");
  EXPECT_EQ(query.at("client_id"), kClientId);
  EXPECT_EQ(query.at("redirect_uri"), kRedirectUri);
  EXPECT_EQ(query.at("scope"), "openid email profile");
  EXPECT_EQ(query.at("state"), start->state);
  EXPECT_EQ(query.at("nonce"), start->nonce);
  EXPECT_EQ(query.at("code_challenge_method"), "S256");
  unsigned char digest[32];
  unsigned int size = 0;
  EVP_Digest(start->code_verifier.data(), start->code_verifier.size(), digest, &size, EVP_sha256(),
             nullptr);
  EXPECT_EQ(query.at("code_challenge"),
            core::base64url_encode(std::string_view(reinterpret_cast<char*>(digest), size)));

  auto second = client.start();
  ASSERT_TRUE(second);
  EXPECT_NE(second->state, start->state);
  EXPECT_NE(second->code_verifier, start->code_verifier);
  EXPECT_EQ(http_.count(kDiscoveryUrl), 1);  // cached
}

TEST_F(OidcClientTest, DiscoveryIsRefreshedAfterADayAndStaleCopyUsedOnFailure) {
  OidcClient client(http_, clock_, settings());
  ASSERT_TRUE(client.start());
  clock_.advance(std::chrono::hours(23));
  ASSERT_TRUE(client.start());
  EXPECT_EQ(http_.count(kDiscoveryUrl), 1);
  clock_.advance(std::chrono::hours(2));
  http_.route(kDiscoveryUrl, [](const HttpRequest&) -> Result<HttpResponse> {
    return fail(Errc::timeout, "slow");
  });
  EXPECT_TRUE(client.start());
  EXPECT_EQ(http_.count(kDiscoveryUrl), 2);
}

TEST_F(OidcClientTest, ProviderProblemsAtStart) {
  {
    http_.route(kDiscoveryUrl, [](const HttpRequest&) -> Result<HttpResponse> {
      return fail(Errc::unavailable, "connection refused");
    });
    OidcClient client(http_, clock_, settings());
    auto start = client.start();
    ASSERT_FALSE(start);
    EXPECT_EQ(start.error().code, Errc::unavailable);
    EXPECT_EQ(oidc_failure_of(start.error()), OidcFailure::provider_unavailable);
  }
  {
    discovery_["issuer"] = "https://evil.example";
    SetUp();
    OidcClient client(http_, clock_, settings());
    EXPECT_EQ(oidc_failure_of(client.start().error()), OidcFailure::provider_misconfigured);
  }
  {
    discovery_ = discovery_document();
    discovery_["token_endpoint"] = "http://op.test/token";  // plain http off loopback
    OidcClient client(http_, clock_, settings());
    EXPECT_EQ(oidc_failure_of(client.start().error()), OidcFailure::provider_misconfigured);
  }
  {
    discovery_ = discovery_document();
    discovery_["id_token_signing_alg_values_supported"] = json::array{"HS256"};
    OidcClient client(http_, clock_, settings());
    EXPECT_EQ(oidc_failure_of(client.start().error()), OidcFailure::provider_misconfigured);
  }
}

TEST_F(OidcClientTest, BadSettingsAreFatalAtConstruction) {
  auto s = settings();
  s.discovery_url = "http://op.test/.well-known/openid-configuration";
  EXPECT_THROW(OidcClient(http_, clock_, s), std::invalid_argument);
  s = settings();
  s.allowed_issuers.clear();
  EXPECT_THROW(OidcClient(http_, clock_, s), std::invalid_argument);
  s = settings();
  s.scopes = "email";
  EXPECT_THROW(OidcClient(http_, clock_, s), std::invalid_argument);
  s = settings();
  s.clock_leeway = std::chrono::minutes(5);
  EXPECT_THROW(OidcClient(http_, clock_, s), std::invalid_argument);
  EXPECT_NO_THROW(OidcClient(http_, clock_, OidcSettings::google("id", "secret", kRedirectUri)));
}

TEST_F(OidcClientTest, GoodTokenGivesTheIdentity) {
  id_token_ = parley::testing::sign_rs256(header(*signing_key_), claims(), *signing_key_);
  OidcClient client(http_, clock_, settings());
  auto identity = client.finish("the-code", verifier_, nonce_);
  ASSERT_TRUE(identity) << identity.error().message;
  EXPECT_EQ(identity->issuer, kIssuer);
  EXPECT_EQ(identity->subject, "test-user-1");
  EXPECT_EQ(identity->email.value_or(""), "ana@example.test");
  EXPECT_TRUE(identity->email_verified);
  EXPECT_EQ(identity->name.value_or(""), "Ana");
  EXPECT_EQ(identity->picture.value_or(""), "https://example.test/ana.png");

  // The token request: form-encoded, PKCE verifier, client_secret_basic (listed by discovery).
  ASSERT_EQ(token_requests_.size(), 1U);
  const auto& request = token_requests_.front();
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.headers.find("content-type").value_or(""), "application/x-www-form-urlencoded");
  const auto form = parse_form(request.body);
  EXPECT_EQ(form.at("grant_type"), "authorization_code");
  EXPECT_EQ(form.at("code"), "the-code");
  EXPECT_EQ(form.at("code_verifier"), verifier_);
  EXPECT_EQ(form.at("redirect_uri"), kRedirectUri);
  EXPECT_EQ(form.at("client_id"), kClientId);
  EXPECT_FALSE(form.contains("client_secret"));
  EXPECT_EQ(
      request.headers.find("Authorization").value_or(""),
      "Basic " + core::base64_encode(std::string(kClientId) + ":" + "s3cret%3Awith%26odd%20chars"));
  EXPECT_EQ(request.timeout, std::chrono::seconds(10));

  // A second login reuses the cached JWKS.
  ASSERT_TRUE(client.finish("the-code", verifier_, nonce_));
  EXPECT_EQ(http_.count(kJwksUrl), 1);
}

TEST_F(OidcClientTest, ClientSecretPostWhenThatIsAllTheProviderSupports) {
  discovery_["token_endpoint_auth_methods_supported"] = json::array{"client_secret_post"};
  id_token_ = parley::testing::sign_rs256(header(*signing_key_), claims(), *signing_key_);
  OidcClient client(http_, clock_, settings());
  ASSERT_TRUE(client.finish("the-code", verifier_, nonce_));
  const auto form = parse_form(token_requests_.at(0).body);
  EXPECT_EQ(form.at("client_secret"), kClientSecret);
  EXPECT_FALSE(token_requests_.at(0).headers.find("Authorization"));
}

TEST_F(OidcClientTest, WrongSignatureIsRejected) {
  // Signed by another key that claims the real key's kid.
  id_token_ = parley::testing::sign_rs256(header(*signing_key_), claims(), *attacker_key_);
  OidcClient client(http_, clock_, settings());
  EXPECT_EQ(finish_failure(client), OidcFailure::invalid_id_token);
}

TEST_F(OidcClientTest, TamperedPayloadIsRejected) {
  const std::string good =
      parley::testing::sign_rs256(header(*signing_key_), claims(), *signing_key_);
  auto tampered_claims = claims();
  tampered_claims["sub"] = "admin";
  const std::string forged =
      parley::testing::sign_rs256(header(*signing_key_), tampered_claims, *signing_key_);
  // The forged payload with the good token's signature.
  id_token_ = forged.substr(0, forged.rfind('.')) + good.substr(good.rfind('.'));
  OidcClient client(http_, clock_, settings());
  EXPECT_EQ(finish_failure(client), OidcFailure::invalid_id_token);
}

TEST_F(OidcClientTest, AlgNoneIsRejected) {
  for (const char* alg : {"none", "None", "NONE"}) {
    id_token_ = parley::testing::unsigned_token(
        json::object{{"alg", alg}, {"kid", signing_key_->kid()}}, claims());
    OidcClient client(http_, clock_, settings());
    EXPECT_EQ(finish_failure(client), OidcFailure::invalid_id_token) << alg;
  }
}

TEST_F(OidcClientTest, Hs256SignedWithThePublicKeyIsRejected) {
  // The classic confusion attack: HMAC keyed with the RSA public key's bytes (PEM and JWK n).
  for (const std::string& secret :
       {signing_key_->public_pem(), std::string(signing_key_->jwk().at("n").as_string())}) {
    id_token_ = parley::testing::sign_hs256(
        json::object{{"alg", "HS256"}, {"kid", signing_key_->kid()}}, claims(), secret);
    OidcClient client(http_, clock_, settings());
    EXPECT_EQ(finish_failure(client), OidcFailure::invalid_id_token);
  }
}

TEST_F(OidcClientTest, WrongIssuerAudienceExpiryNonce) {
  OidcClient client(http_, clock_, settings());
  auto with = [&](std::string_view name, json::value value) {
    auto c = claims();
    c[name] = std::move(value);
    id_token_ = parley::testing::sign_rs256(header(*signing_key_), c, *signing_key_);
    return finish_failure(client);
  };
  EXPECT_EQ(with("iss", "https://accounts.google.com"), OidcFailure::issuer_mismatch);
  EXPECT_EQ(with("aud", "another-client"), OidcFailure::audience_mismatch);
  EXPECT_EQ(with("azp", "another-client"), OidcFailure::audience_mismatch);
  EXPECT_EQ(with("exp", clock_.now_seconds() - 61), OidcFailure::token_expired);
  EXPECT_EQ(with("exp", clock_.now_seconds() - 1), std::nullopt);  // inside the leeway
  EXPECT_EQ(with("iat", clock_.now_seconds() + 3600), OidcFailure::token_not_yet_valid);
  EXPECT_EQ(with("nbf", clock_.now_seconds() + 120), OidcFailure::token_not_yet_valid);
  EXPECT_EQ(with("nonce", "replayed-nonce"), OidcFailure::nonce_mismatch);
  EXPECT_EQ(with("sub", ""), OidcFailure::missing_subject);
  EXPECT_EQ(with("email_verified", "true"), std::nullopt);
}

TEST_F(OidcClientTest, ExpiryFollowsTheInjectedClock) {
  id_token_ = parley::testing::sign_rs256(header(*signing_key_), claims(), *signing_key_);
  OidcClient client(http_, clock_, settings());
  ASSERT_EQ(finish_failure(client), std::nullopt);
  clock_.advance(std::chrono::seconds(3600 + 61));
  EXPECT_EQ(finish_failure(client), OidcFailure::token_expired);
}

TEST_F(OidcClientTest, EmailVerifiedAsString) {
  auto c = claims();
  c["email_verified"] = "true";
  id_token_ = parley::testing::sign_rs256(header(*signing_key_), c, *signing_key_);
  OidcClient client(http_, clock_, settings());
  auto identity = client.finish("the-code", verifier_, nonce_);
  ASSERT_TRUE(identity) << identity.error().message;
  EXPECT_TRUE(identity->email_verified);

  c["email_verified"] = "false";
  id_token_ = parley::testing::sign_rs256(header(*signing_key_), c, *signing_key_);
  identity = client.finish("the-code", verifier_, nonce_);
  ASSERT_TRUE(identity);
  EXPECT_FALSE(identity->email_verified);
}

TEST_F(OidcClientTest, UnknownKidRefetchesTheJwksOnceThenRateLimits) {
  OidcClient client(http_, clock_, settings());
  id_token_ = parley::testing::sign_rs256(header(*signing_key_), claims(), *signing_key_);
  ASSERT_EQ(finish_failure(client), std::nullopt);
  EXPECT_EQ(http_.count(kJwksUrl), 1);

  // The provider rotates: key-2 is published and used. Our cache does not know it yet.
  published_keys_ = {signing_key_, rotated_key_};
  clock_.advance(std::chrono::seconds(61));
  id_token_ = parley::testing::sign_rs256(header(*rotated_key_), claims(), *rotated_key_);
  EXPECT_EQ(finish_failure(client), std::nullopt);
  EXPECT_EQ(http_.count(kJwksUrl), 2);

  // A made-up kid: one refetch is allowed only once a minute has passed since the last fetch.
  auto bogus_header = header(*signing_key_);
  bogus_header["kid"] = "no-such-key";
  id_token_ = parley::testing::sign_rs256(bogus_header, claims(), *signing_key_);
  EXPECT_EQ(finish_failure(client), OidcFailure::unknown_signing_key);
  EXPECT_EQ(finish_failure(client), OidcFailure::unknown_signing_key);
  EXPECT_EQ(http_.count(kJwksUrl), 2);
  clock_.advance(std::chrono::seconds(61));
  EXPECT_EQ(finish_failure(client), OidcFailure::unknown_signing_key);
  EXPECT_EQ(http_.count(kJwksUrl), 3);
  EXPECT_EQ(finish_failure(client), OidcFailure::unknown_signing_key);
  EXPECT_EQ(http_.count(kJwksUrl), 3);
}

TEST_F(OidcClientTest, FirstUnknownKidRightAfterAFetchIsNotRefetched) {
  // With a fresh cache, a brand-new kid within the first minute gets no second fetch.
  OidcClient client(http_, clock_, settings());
  auto h = header(*rotated_key_);
  id_token_ = parley::testing::sign_rs256(h, claims(), *rotated_key_);
  EXPECT_EQ(finish_failure(client), OidcFailure::unknown_signing_key);
  EXPECT_EQ(http_.count(kJwksUrl), 1);
}

TEST_F(OidcClientTest, HostileKidsAreJustUnknownKeys) {
  OidcClient client(http_, clock_, settings());
  for (const char* kid : {"../../dev/null", "' OR 1=1--", "", "KEY-1", "%00", "\r\nX: y",
                          "http://evil.example/jwks"}) {
    auto h = header(*signing_key_);
    h["kid"] = kid;
    id_token_ = parley::testing::sign_rs256(h, claims(), *signing_key_);
    auto result = client.finish("the-code", verifier_, nonce_);
    ASSERT_FALSE(result) << kid;
    EXPECT_EQ(result.error().code, Errc::unauthorized);
    EXPECT_EQ(oidc_failure_of(result.error()), OidcFailure::unknown_signing_key) << kid;
  }
  auto h = header(*signing_key_);
  h["kid"] = std::string(100000, 'k');  // too large a token altogether
  id_token_ = parley::testing::sign_rs256(h, claims(), *signing_key_);
  EXPECT_EQ(finish_failure(client), OidcFailure::invalid_id_token);
}

TEST_F(OidcClientTest, JkuX5uAndEmbeddedJwkHeadersAreIgnored) {
  const TestRsaKey self_signed("attacker-kid");
  auto h = header(self_signed);
  h["jku"] = "https://evil.example/jwks";
  h["x5u"] = "https://evil.example/cert.pem";
  h["jwk"] = self_signed.jwk();
  id_token_ = parley::testing::sign_rs256(h, claims(), self_signed);
  OidcClient client(http_, clock_, settings());
  EXPECT_EQ(finish_failure(client), OidcFailure::unknown_signing_key);

  // Same headers on a token that names the real kid: still signed by the wrong key.
  h["kid"] = signing_key_->kid();
  id_token_ = parley::testing::sign_rs256(h, claims(), self_signed);
  EXPECT_EQ(finish_failure(client), OidcFailure::invalid_id_token);
  for (const auto& request : http_.log()) {
    EXPECT_EQ(request.url.find("evil.example"), std::string::npos) << request.url;
  }
}

TEST_F(OidcClientTest, JwksCacheFollowsCacheControlMaxAge) {
  jwks_cache_control_ = "public, max-age=120, must-revalidate";
  id_token_ = parley::testing::sign_rs256(header(*signing_key_), claims(), *signing_key_);
  OidcClient client(http_, clock_, settings());
  ASSERT_EQ(finish_failure(client), std::nullopt);
  clock_.advance(std::chrono::seconds(119));
  id_token_ = parley::testing::sign_rs256(header(*signing_key_), claims(), *signing_key_);
  ASSERT_EQ(finish_failure(client), std::nullopt);
  EXPECT_EQ(http_.count(kJwksUrl), 1);
  clock_.advance(std::chrono::seconds(2));
  id_token_ = parley::testing::sign_rs256(header(*signing_key_), claims(), *signing_key_);
  ASSERT_EQ(finish_failure(client), std::nullopt);
  EXPECT_EQ(http_.count(kJwksUrl), 2);
}

TEST_F(OidcClientTest, JwksDefaultsToOneHour) {
  id_token_ = parley::testing::sign_rs256(header(*signing_key_), claims(), *signing_key_);
  OidcClient client(http_, clock_, settings());
  ASSERT_EQ(finish_failure(client), std::nullopt);
  clock_.advance(std::chrono::minutes(59));
  id_token_ = parley::testing::sign_rs256(header(*signing_key_), claims(), *signing_key_);
  ASSERT_EQ(finish_failure(client), std::nullopt);
  EXPECT_EQ(http_.count(kJwksUrl), 1);
  clock_.advance(std::chrono::minutes(2));
  id_token_ = parley::testing::sign_rs256(header(*signing_key_), claims(), *signing_key_);
  ASSERT_EQ(finish_failure(client), std::nullopt);
  EXPECT_EQ(http_.count(kJwksUrl), 2);
}

TEST_F(OidcClientTest, TokenEndpointFailures) {
  OidcClient client(http_, clock_, settings());
  token_response_ = [](const HttpRequest&) -> Result<HttpResponse> {
    return json_response(400, json::object{{"error", "invalid_grant"},
                                           {"error_description", "grant request is invalid"}});
  };
  auto result = client.finish("used-code", verifier_, nonce_);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::unauthorized);
  EXPECT_EQ(oidc_failure_of(result.error()), OidcFailure::token_exchange_failed);
  EXPECT_NE(result.error().message.find("invalid_grant"), std::string::npos);

  token_response_ = [](const HttpRequest&) -> Result<HttpResponse> {
    return HttpResponse{502, {}, "bad gateway"};
  };
  EXPECT_EQ(finish_failure(client), OidcFailure::provider_unavailable);

  token_response_ = [](const HttpRequest&) -> Result<HttpResponse> {
    return fail(Errc::timeout, "outbound HTTP request timed out");
  };
  EXPECT_EQ(finish_failure(client), OidcFailure::provider_unavailable);

  token_response_ = [](const HttpRequest&) -> Result<HttpResponse> {
    return json_response(200, json::object{{"access_token", "at"}});
  };
  EXPECT_EQ(finish_failure(client), OidcFailure::token_exchange_failed);

  token_response_ = [](const HttpRequest&) -> Result<HttpResponse> {
    return HttpResponse{200, {}, "<html>"};
  };
  EXPECT_EQ(finish_failure(client), OidcFailure::token_exchange_failed);
}

TEST_F(OidcClientTest, BadCallerInputFailsBeforeAnyRequest) {
  OidcClient client(http_, clock_, settings());
  EXPECT_EQ(oidc_failure_of(client.finish("", verifier_, nonce_).error()),
            OidcFailure::invalid_request);
  EXPECT_EQ(oidc_failure_of(client.finish("c", "short", nonce_).error()),
            OidcFailure::invalid_request);
  EXPECT_EQ(oidc_failure_of(client.finish("c", std::string(43, '+'), nonce_).error()),
            OidcFailure::invalid_request);
  EXPECT_EQ(oidc_failure_of(client.finish("c", verifier_, "").error()),
            OidcFailure::invalid_request);
  EXPECT_TRUE(http_.log().empty());
}

TEST_F(OidcClientTest, ConcurrentFinishesShareOneJwksFetch) {
  id_token_ = parley::testing::sign_rs256(header(*signing_key_), claims(), *signing_key_);
  OidcClient client(http_, clock_, settings());
  std::atomic<int> successes{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      if (client.finish("the-code", verifier_, nonce_)) ++successes;
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(successes.load(), 8);
  EXPECT_EQ(http_.count(kJwksUrl), 1);
  EXPECT_EQ(http_.count(kDiscoveryUrl), 1);
}

}  // namespace
}  // namespace parley::auth::oidc
