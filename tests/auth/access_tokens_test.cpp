#include "auth/access_tokens.hpp"

#include <gtest/gtest.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/base64.hpp"

namespace parley::auth {
namespace {

class ManualClock final : public core::Clock {
 public:
  explicit ManualClock(std::int64_t seconds) : ms_(seconds * 1000) {}
  std::int64_t now_ms() const override { return ms_.load(); }
  void set_seconds(std::int64_t seconds) { ms_ = seconds * 1000; }
  void advance_seconds(std::int64_t seconds) { ms_ += seconds * 1000; }

 private:
  std::atomic<std::int64_t> ms_;
};

constexpr std::int64_t kNow = 1'700'000'000;
const std::string kSecret = "parley-test-secret-0123456789abcdef";  // 35 bytes
const std::string kOtherSecret = "another-secret-with-enough-bytes-000";
const std::string kKid = "5281ccef";  // first 8 hex of SHA-256(kSecret), checked below

AccessTokenOptions options() {
  return {.issuer = "parley-test",
          .audience = "parley-api",
          .lifetime = std::chrono::minutes(15),
          .leeway = std::chrono::seconds(30)};
}

// Signs arbitrary header and payload JSON, as an attacker (or PyJWT) could.
std::string sign(std::string_view header, std::string_view payload, std::string_view secret) {
  std::string input = core::base64url_encode(header) + "." + core::base64url_encode(payload);
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return input + "." + core::base64url_encode(std::string_view(reinterpret_cast<char*>(mac), len));
}

std::string header(std::string_view alg = "HS256", std::string_view kid = kKid) {
  return R"({"alg":")" + std::string(alg) + R"(","typ":"JWT","kid":")" + std::string(kid) + "\"}";
}

// A payload that verifies, with one member replaced (or dropped with an empty value).
std::string payload(std::string_view replace_key = {}, std::string_view replace_json = {}) {
  const std::pair<std::string_view, std::string> members[] = {{"iss", R"("parley-test")"},
                                                              {"aud", R"("parley-api")"},
                                                              {"sub", R"("42")"},
                                                              {"iat", std::to_string(kNow)},
                                                              {"nbf", std::to_string(kNow)},
                                                              {"exp", std::to_string(kNow + 900)},
                                                              {"sid", R"("session-1")"},
                                                              {"jti", R"("abc123")"},
                                                              {"typ", R"("access")"},
                                                              {"guest", "false"}};
  std::string out = "{";
  for (const auto& [key, value] : members) {
    std::string_view v = key == replace_key ? replace_json : std::string_view(value);
    if (key == replace_key && replace_json.empty()) continue;
    if (out.size() > 1) out += ',';
    out += '"' + std::string(key) + "\":" + std::string(v);
  }
  return out + "}";
}

class AccessTokensTest : public ::testing::Test {
 protected:
  ManualClock clock_{kNow};
  AccessTokens tokens_{AccessKeySet::from_secrets(kSecret), options(), clock_};

  void expect_rejected(std::string_view token, TokenRejection expected) {
    TokenRejection why = TokenRejection::none;
    const auto result = tokens_.verify(token, &why);
    ASSERT_TRUE(result.has_error()) << token.substr(0, 200);
    EXPECT_EQ(result.error().code, Errc::unauthorized);
    // One generic message whatever failed: the client learns nothing about which check.
    EXPECT_EQ(result.error().message, "invalid or expired access token");
    EXPECT_EQ(why, expected) << to_string(why) << " for " << token.substr(0, 200);
  }
};

TEST_F(AccessTokensTest, KidIsDerivedFromTheSecret) {
  EXPECT_EQ(AccessKeySet::derive_kid(kSecret), kKid);
  EXPECT_EQ(tokens_.keys().current().kid, kKid);
}

TEST_F(AccessTokensTest, IssuedTokenRoundTrips) {
  const auto issued = tokens_.issue(42, false, "session-1");
  EXPECT_EQ(std::count(issued.token.begin(), issued.token.end(), '.'), 2);
  EXPECT_EQ(issued.token.find('='), std::string::npos);
  TokenRejection why = TokenRejection::bad_claims;
  const auto claims = tokens_.verify(issued.token, &why);
  ASSERT_TRUE(claims.has_value()) << to_string(why);
  EXPECT_EQ(why, TokenRejection::none);
  EXPECT_EQ(claims->user_id, 42);
  EXPECT_FALSE(claims->guest);
  EXPECT_EQ(claims->kind, "access");
  EXPECT_EQ(claims->issued_at, kNow);
  EXPECT_EQ(claims->expires_at, kNow + 900);
  EXPECT_EQ(claims->key_id, kKid);
  EXPECT_EQ(claims->jti, issued.claims.jti);
  EXPECT_GE(claims->jti.size(), 22u);  // 128 random bits
  EXPECT_NE(tokens_.issue(42, false, "session-1").claims.jti, issued.claims.jti);

  const auto guest = tokens_.verify(tokens_.issue(7, true, "session-1").token);
  ASSERT_TRUE(guest.has_value());
  EXPECT_TRUE(guest->guest);
  EXPECT_EQ(guest->user_id, 7);
  EXPECT_THROW(tokens_.issue(0, false, "session-1"), std::invalid_argument);
}

TEST_F(AccessTokensTest, IssuedHeaderAndPayloadHaveTheDocumentedShape) {
  const auto issued = tokens_.issue(42, true, "session-1");
  const auto dot = issued.token.find('.');
  EXPECT_EQ(core::base64url_decode(issued.token.substr(0, dot)),
            R"({"alg":"HS256","typ":"JWT","kid":"5281ccef"})");
  const auto body =
      core::base64url_decode(issued.token.substr(dot + 1, issued.token.rfind('.') - dot - 1));
  ASSERT_TRUE(body);
  EXPECT_NE(body->find(R"("sub":"42")"), std::string::npos);
  EXPECT_NE(body->find(R"("typ":"access")"), std::string::npos);
  EXPECT_NE(body->find(R"("guest":true)"), std::string::npos);
}

// Made by PyJWT 2.6.0 (python3-jwt): jwt.encode({...}, kSecret, "HS256", headers={"kid":...}).
TEST_F(AccessTokensTest, VerifiesTokensMadeByPyJwt) {
  // Regenerate with /usr/bin/python3 (python3-jwt 2.6.0): claims iss, aud, sub, iat, nbf, exp,
  // jti, typ "access", guest, sid "pyjwt-session"; header kid 5281ccef.
  const std::string token =
      "eyJhbGciOiJIUzI1NiIsImtpZCI6IjUyODFjY2VmIiwidHlwIjoiSldUIn0.eyJpc3MiOiJwYXJsZXktdGVzdCIsIm"
      "F1ZCI6InBhcmxleS1hcGkiLCJpYXQiOjE3MDAwMDAwMDAsIm5iZiI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAwOTAw"
      "LCJ0eXAiOiJhY2Nlc3MiLCJzdWIiOiI0MiIsImp0aSI6InB5and0LXZlY3Rvci0xIiwiZ3Vlc3QiOmZhbHNlLCJzaW"
      "QiOiJweWp3dC1zZXNzaW9uIn0.SsEI2kWFtKgF9iWE_Impllm10CZh-poQ5k3ilr1t8XQ";
  const auto claims = tokens_.verify(token);
  ASSERT_TRUE(claims.has_value());
  EXPECT_EQ(claims->user_id, 42);
  EXPECT_EQ(claims->jti, "pyjwt-vector-1");
  EXPECT_EQ(claims->session_id, "pyjwt-session");
  EXPECT_FALSE(claims->guest);
  const std::string guest_token =
      "eyJhbGciOiJIUzI1NiIsImtpZCI6IjUyODFjY2VmIiwidHlwIjoiSldUIn0.eyJpc3MiOiJwYXJsZXktdGVzdCIsIm"
      "F1ZCI6InBhcmxleS1hcGkiLCJpYXQiOjE3MDAwMDAwMDAsIm5iZiI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAwOTAw"
      "LCJ0eXAiOiJhY2Nlc3MiLCJzdWIiOiI3IiwianRpIjoicHlqd3QtdmVjdG9yLTIiLCJndWVzdCI6dHJ1ZSwic2lkIj"
      "oicHlqd3Qtc2Vzc2lvbiJ9._x0y7vleHS1Pj-YleqB_U-WYpGruNOyy1zricXq36DU";
  const auto guest = tokens_.verify(guest_token);
  ASSERT_TRUE(guest.has_value());
  EXPECT_TRUE(guest->guest);
  EXPECT_EQ(guest->user_id, 7);
  // Same claims, signed by PyJWT with HS512 and HS384: not on the allowlist.
  expect_rejected(
      "eyJhbGciOiJIUzUxMiIsImtpZCI6IjUyODFjY2VmIiwidHlwIjoiSldUIn0.eyJpc3MiOiJwYXJsZXktdGVzdCIsIm"
      "F1ZCI6InBhcmxleS1hcGkiLCJpYXQiOjE3MDAwMDAwMDAsIm5iZiI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAwOTAw"
      "LCJ0eXAiOiJhY2Nlc3MiLCJzdWIiOiI0MiIsImp0aSI6InB5and0LXZlY3Rvci0xIiwiZ3Vlc3QiOmZhbHNlLCJzaW"
      "QiOiJweWp3dC1zZXNzaW9uIn0.ClcauMEAf2jmwhQqRw49W3uthnSIHCbSsQkAJBivUmvIE7QeX2v6PcQqL0tAbxGN"
      "emzDmzVLeliBZSU7OtY5Og",
      TokenRejection::bad_header);
  expect_rejected(
      "eyJhbGciOiJIUzM4NCIsImtpZCI6IjUyODFjY2VmIiwidHlwIjoiSldUIn0.eyJpc3MiOiJwYXJsZXktdGVzdCIsIm"
      "F1ZCI6InBhcmxleS1hcGkiLCJpYXQiOjE3MDAwMDAwMDAsIm5iZiI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAwOTAw"
      "LCJ0eXAiOiJhY2Nlc3MiLCJzdWIiOiI0MiIsImp0aSI6InB5and0LXZlY3Rvci0xIiwiZ3Vlc3QiOmZhbHNlLCJzaW"
      "QiOiJweWp3dC1zZXNzaW9uIn0.xv9j5iEWHpduz2vnCMNBEgHOSZPOVlu2poZYnlXaV-v-jR2yBeUHGi2VP2wmPwF-",
      TokenRejection::bad_header);
}

TEST_F(AccessTokensTest, HandBuiltValidTokenVerifies) {
  // Guards the helpers below: without this, every "rejected" test could pass for a wrong reason.
  EXPECT_TRUE(tokens_.verify(sign(header(), payload(), kSecret)).has_value());
  // nbf and guest are optional; lower-case typ header is fine (RFC 7515 4.1.9).
  EXPECT_TRUE(tokens_.verify(sign(header(), payload("nbf"), kSecret)).has_value());
  EXPECT_TRUE(tokens_.verify(sign(header(), payload("guest"), kSecret)).has_value());
  EXPECT_TRUE(
      tokens_.verify(sign(R"({"alg":"HS256","typ":"jwt","kid":"5281ccef"})", payload(), kSecret))
          .has_value());
}

// SECURITY.md B13.
TEST_F(AccessTokensTest, TimeClaims) {
  const auto issued = tokens_.issue(42, false, "session-1");
  clock_.advance_seconds(899);
  EXPECT_TRUE(tokens_.verify(issued.token).has_value());
  clock_.advance_seconds(1);  // now == exp
  expect_rejected(issued.token, TokenRejection::expired);
  clock_.set_seconds(kNow);
  expect_rejected(sign(header(), payload("exp", std::to_string(kNow - 1)), kSecret),
                  TokenRejection::expired);
  expect_rejected(sign(header(), payload("exp"), kSecret), TokenRejection::bad_claims);
  expect_rejected(sign(header(), payload("exp", R"("never")"), kSecret),
                  TokenRejection::bad_claims);
  expect_rejected(sign(header(), payload("iat"), kSecret), TokenRejection::bad_claims);
  // nbf/iat in the future: tolerated within the 30 s leeway, refused beyond it.
  EXPECT_TRUE(tokens_.verify(sign(header(), payload("nbf", std::to_string(kNow + 30)), kSecret))
                  .has_value());
  expect_rejected(sign(header(), payload("nbf", std::to_string(kNow + 120)), kSecret),
                  TokenRejection::not_yet_valid);
  expect_rejected(sign(header(), payload("iat", std::to_string(kNow + 31)), kSecret),
                  TokenRejection::not_yet_valid);
  expect_rejected(sign(header(), payload("nbf", R"("soon")"), kSecret), TokenRejection::bad_claims);
  // Extreme values must not overflow.
  expect_rejected(sign(header(), payload("exp", "-9223372036854775808"), kSecret),
                  TokenRejection::expired);
  expect_rejected(sign(header(), payload("nbf", "9223372036854775807"), kSecret),
                  TokenRejection::not_yet_valid);
  // Boost.JSON reads 1e400 as infinity: not a NumericDate.
  expect_rejected(sign(header(), payload("exp", "1e400"), kSecret), TokenRejection::bad_claims);
  expect_rejected(sign(header(), payload("exp", "1e300"), kSecret), TokenRejection::bad_claims);
  EXPECT_TRUE(
      tokens_.verify(sign(header(), payload("exp", std::to_string(kNow + 10) + ".5"), kSecret))
          .has_value());
}

TEST_F(AccessTokensTest, ExpiryLeewayIsOptIn) {
  ManualClock clock(kNow);
  AccessTokenOptions lenient = options();
  lenient.expiry_leeway = std::chrono::seconds(30);
  const AccessTokens tokens(AccessKeySet::from_secrets(kSecret), lenient, clock);
  const std::string token = sign(header(), payload("exp", std::to_string(kNow - 1)), kSecret);
  EXPECT_TRUE(tokens.verify(token).has_value());
  clock.advance_seconds(29);
  EXPECT_FALSE(tokens.verify(token).has_value());
}

// A token verified once is remembered by its bytes: the answers must stay those of a full check.
TEST_F(AccessTokensTest, RememberedTokensStillAnswerAsAFullCheck) {
  const auto issued = tokens_.issue(42, true, "session-1");
  ASSERT_TRUE(tokens_.verify(issued.token).has_value());
  const auto again = tokens_.verify(issued.token);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->user_id, 42);
  EXPECT_TRUE(again->guest);
  EXPECT_EQ(again->session_id, "session-1");
  EXPECT_EQ(again->jti, issued.claims.jti);
  EXPECT_EQ(again->expires_at, issued.claims.expires_at);
  // Bytes that differ from the remembered token are checked in full.
  std::string flipped = issued.token;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  expect_rejected(flipped, TokenRejection::bad_signature);
  expect_rejected(issued.token + "A", TokenRejection::bad_signature);
  // The time claims are read again on every use, both ways.
  clock_.advance_seconds(900);
  expect_rejected(issued.token, TokenRejection::expired);
  clock_.set_seconds(kNow - 31);
  expect_rejected(issued.token, TokenRejection::not_yet_valid);
  clock_.set_seconds(kNow);
  EXPECT_TRUE(tokens_.verify(issued.token).has_value());
  // A copy answers the same.
  const AccessTokens copy = tokens_;
  EXPECT_TRUE(copy.verify(issued.token).has_value());
}

TEST_F(AccessTokensTest, RememberedTokensAreBounded) {
  std::vector<std::string> issued;
  for (std::size_t i = 0; i < AccessTokens::kVerifiedCapacity + 10; ++i) {
    issued.push_back(tokens_.issue(static_cast<std::int64_t>(i) + 1, false, "session-1").token);
    ASSERT_TRUE(tokens_.verify(issued.back()).has_value()) << i;
  }
  // Past the bound what was remembered is dropped; dropped tokens verify in full again.
  for (std::size_t i : {std::size_t{0}, issued.size() / 2, issued.size() - 1}) {
    const auto claims = tokens_.verify(issued[i]);
    ASSERT_TRUE(claims.has_value()) << i;
    EXPECT_EQ(claims->user_id, static_cast<std::int64_t>(i) + 1);
  }
}

// SECURITY.md B12.
TEST_F(AccessTokensTest, TamperedTokensAreRejected) {
  const std::string token = tokens_.issue(42, false, "session-1").token;
  const auto dot1 = token.find('.');
  const auto dot2 = token.rfind('.');
  // Payload swapped for one saying user 1, signature kept.
  const std::string forged_payload = core::base64url_encode(payload("sub", R"("1")"));
  expect_rejected(token.substr(0, dot1 + 1) + forged_payload + token.substr(dot2),
                  TokenRejection::bad_signature);
  // Every single-character change of the signature.
  std::string sig_flipped = token;
  sig_flipped[dot2 + 5] = sig_flipped[dot2 + 5] == 'A' ? 'B' : 'A';
  expect_rejected(sig_flipped, TokenRejection::bad_signature);
  // Truncated or extended signature, non-canonical last character, padding.
  expect_rejected(token.substr(0, token.size() - 1), TokenRejection::bad_signature);
  expect_rejected(token + "A", TokenRejection::bad_signature);
  expect_rejected(token + "=", TokenRejection::bad_signature);
  std::string last_changed = token;
  last_changed.back() = static_cast<char>(last_changed.back() ^ 1);
  expect_rejected(last_changed, TokenRejection::bad_signature);
}

// SECURITY.md B11.
TEST_F(AccessTokensTest, AlgorithmIsPinnedToHs256) {
  // alg:none with an empty signature and with a junk one.
  const std::string none_input = core::base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." +
                                 core::base64url_encode(payload());
  expect_rejected(none_input + ".", TokenRejection::malformed);
  expect_rejected(none_input + ".AAAA", TokenRejection::bad_header);
  expect_rejected(sign(header("none"), payload(), kSecret), TokenRejection::bad_header);
  for (std::string_view alg : {"HS512", "HS384", "RS256", "ES256", "hs256", "HS256 ", ""}) {
    expect_rejected(sign(header(alg), payload(), kSecret), TokenRejection::bad_header);
  }
  expect_rejected(sign(R"({"typ":"JWT","kid":"5281ccef"})", payload(), kSecret),
                  TokenRejection::bad_header);
  expect_rejected(sign(R"({"alg":["HS256"],"kid":"5281ccef"})", payload(), kSecret),
                  TokenRejection::bad_header);
  expect_rejected(sign(R"({"alg":"HS256","typ":"at+jwt","kid":"5281ccef"})", payload(), kSecret),
                  TokenRejection::bad_header);
  expect_rejected(sign(R"({"alg":"HS256","kid":"5281ccef","crit":["exp"]})", payload(), kSecret),
                  TokenRejection::bad_header);
}

// HS256 made with another key: e.g. the RS public key trick, or simply a guessed secret.
TEST_F(AccessTokensTest, OtherKeysAreRejected) {
  expect_rejected(sign(header(), payload(), kOtherSecret), TokenRejection::bad_signature);
  expect_rejected(sign(header(), payload(), "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkq..."),
                  TokenRejection::bad_signature);
  // jku / x5u / jwk pointing elsewhere are ignored: the signature is still checked with our key.
  expect_rejected(sign(R"({"alg":"HS256","kid":"5281ccef","jku":"https://evil.example/jwks",)"
                       R"("jwk":{"kty":"oct","k":"AAAA"}})",
                       payload(), kOtherSecret),
                  TokenRejection::bad_signature);
  EXPECT_TRUE(tokens_
                  .verify(sign(R"({"alg":"HS256","kid":"5281ccef","x5u":"https://evil.example"})",
                               payload(), kSecret))
                  .has_value());
}

// SECURITY.md B16.
TEST_F(AccessTokensTest, UnknownAndHostileKidsAreRejected) {
  for (std::string_view kid : {"unknown", "", "../../dev/null", "' OR 1=1--", "5281ccef ",
                               "5281CCEF", "5281cce", "/etc/passwd", "%00", "\\u0000"}) {
    expect_rejected(sign(header("HS256", kid), payload(), kSecret), TokenRejection::unknown_key);
  }
  expect_rejected(sign(R"({"alg":"HS256"})", payload(), kSecret), TokenRejection::unknown_key);
  expect_rejected(sign(R"({"alg":"HS256","kid":42})", payload(), kSecret),
                  TokenRejection::unknown_key);
  expect_rejected(sign(R"({"alg":"HS256","kid":null})", payload(), kSecret),
                  TokenRejection::unknown_key);
}

// SECURITY.md B14 and B15.
TEST_F(AccessTokensTest, IssuerAudienceAndKindMustMatch) {
  expect_rejected(sign(header(), payload("iss", R"("https://accounts.google.com")"), kSecret),
                  TokenRejection::wrong_issuer);
  expect_rejected(sign(header(), payload("iss"), kSecret), TokenRejection::wrong_issuer);
  expect_rejected(sign(header(), payload("aud", R"("other-api")"), kSecret),
                  TokenRejection::wrong_audience);
  expect_rejected(sign(header(), payload("aud", R"(["parley-api"])"), kSecret),
                  TokenRejection::wrong_audience);
  expect_rejected(sign(header(), payload("aud"), kSecret), TokenRejection::wrong_audience);
  for (std::string_view kind : {R"("refresh")", R"("id")", R"("ACCESS")", "true", ""}) {
    expect_rejected(sign(header(), payload("typ", kind), kSecret), TokenRejection::wrong_kind);
  }
}

TEST_F(AccessTokensTest, SubjectJtiAndGuestMustBeWellFormed) {
  for (std::string_view sub : {R"("0")", R"("-5")", R"("007")", R"("+7")", R"("7.0")", R"("abc")",
                               R"("")", "42", R"("99999999999999999999")", ""}) {
    expect_rejected(sign(header(), payload("sub", sub), kSecret), TokenRejection::bad_claims);
  }
  for (std::string_view jti : {R"("")", "123", ""}) {
    expect_rejected(sign(header(), payload("jti", jti), kSecret), TokenRejection::bad_claims);
  }
  expect_rejected(sign(header(), payload("jti", '"' + std::string(129, 'j') + '"'), kSecret),
                  TokenRejection::bad_claims);
  expect_rejected(sign(header(), payload("guest", R"("true")"), kSecret),
                  TokenRejection::bad_claims);
}

TEST_F(AccessTokensTest, GarbageNeverVerifiesOrThrows) {
  const std::string valid = tokens_.issue(42, false, "session-1").token;
  const std::string cases[] = {
      "",
      ".",
      "..",
      "a.b",
      "a.b.c",
      "a.b.c.d",
      valid + "." + "x",
      "!!!.@@@.###",
      "eyJ.eyJ.eyJ",
      "Bearer " + valid,
      valid.substr(0, valid.find('.')) + "..",
      std::string(1'000'000, 'a') + "." + std::string(10, 'b') + ".c",
      std::string(2'000, '.'),
      std::string("\0\0\0", 3),
      sign("not json", payload(), kSecret),
      sign("[1,2,3]", payload(), kSecret),
      sign(header(), "[]", kSecret),
      sign(header(), "not json", kSecret),
      sign(header(), "{\"iss\":" + std::string(10'000, '['), kSecret),
      sign(std::string(100, '['), payload(), kSecret),
  };
  for (const std::string& token : cases) {
    TokenRejection why = TokenRejection::none;
    const auto result = tokens_.verify(token, &why);
    ASSERT_TRUE(result.has_error()) << token.substr(0, 100);
    EXPECT_EQ(result.error().code, Errc::unauthorized);
    EXPECT_NE(why, TokenRejection::none);
  }
}

// SECURITY.md B17: an old key verifies while listed, and fails once retired.
TEST_F(AccessTokensTest, KeyRotation) {
  const std::string old_token = tokens_.issue(42, false, "session-1").token;
  const std::string new_secret = "the-next-secret-0123456789abcdefghij";
  const AccessTokens rotated(AccessKeySet::from_secrets(new_secret, {kSecret}), options(), clock_);
  EXPECT_TRUE(rotated.verify(old_token).has_value());
  const auto fresh = rotated.issue(42, false, "session-1");
  EXPECT_EQ(fresh.claims.key_id, AccessKeySet::derive_kid(new_secret));
  EXPECT_TRUE(rotated.verify(fresh.token).has_value());
  expect_rejected(fresh.token, TokenRejection::unknown_key);  // the old set does not know it

  const AccessTokens retired(AccessKeySet::from_secrets(new_secret), options(), clock_);
  TokenRejection why = TokenRejection::none;
  EXPECT_FALSE(retired.verify(old_token, &why).has_value());
  EXPECT_EQ(why, TokenRejection::unknown_key);
  EXPECT_TRUE(retired.verify(fresh.token).has_value());
}

TEST(AccessTokensConfig, WeakOrInconsistentConfigurationIsFatal) {
  ManualClock clock(kNow);
  EXPECT_THROW(AccessKeySet::from_secrets(std::string(31, 'k')), std::invalid_argument);
  EXPECT_THROW(AccessKeySet::from_secrets(""), std::invalid_argument);
  EXPECT_THROW(AccessKeySet::from_secrets(kSecret, {"short"}), std::invalid_argument);
  EXPECT_THROW(AccessKeySet::from_secrets(kSecret, {kSecret}), std::invalid_argument);  // dup kid
  EXPECT_THROW(AccessKeySet(SigningKey{"", kSecret}), std::invalid_argument);
  EXPECT_THROW(AccessKeySet(SigningKey{"has space", kSecret}), std::invalid_argument);
  EXPECT_NO_THROW(AccessKeySet::from_secrets(std::string(32, 'k')));

  auto with = [](auto change) {
    AccessTokenOptions o = options();
    change(o);
    return o;
  };
  const auto keys = AccessKeySet::from_secrets(kSecret);
  EXPECT_THROW(AccessTokens(keys, with([](auto& o) { o.issuer.clear(); }), clock),
               std::invalid_argument);
  EXPECT_THROW(AccessTokens(keys, with([](auto& o) { o.audience.clear(); }), clock),
               std::invalid_argument);
  EXPECT_THROW(
      AccessTokens(keys, with([](auto& o) { o.lifetime = std::chrono::seconds(0); }), clock),
      std::invalid_argument);
  EXPECT_THROW(
      AccessTokens(keys, with([](auto& o) { o.leeway = std::chrono::seconds(61); }), clock),
      std::invalid_argument);
  EXPECT_THROW(
      AccessTokens(keys, with([](auto& o) { o.expiry_leeway = std::chrono::seconds(-1); }), clock),
      std::invalid_argument);
  EXPECT_NO_THROW(
      AccessTokens(keys, with([](auto& o) { o.leeway = std::chrono::seconds(60); }), clock));
}

}  // namespace
}  // namespace parley::auth
