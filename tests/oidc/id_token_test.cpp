// The pure id_token rules: JWS splitting/header checks and claim checks, with "now" passed in.

#include "auth/oidc/id_token.hpp"

#include <gtest/gtest.h>

#include "auth/oidc/oidc_error.hpp"
#include "core/base64.hpp"

namespace parley::auth::oidc {
namespace {

namespace json = boost::json;

constexpr std::int64_t kNow = 1'700'000'000;

ClaimExpectations expectations() {
  ClaimExpectations expected;
  expected.allowed_issuers = {"https://accounts.google.com", "accounts.google.com"};
  expected.client_id = "client-1";
  expected.nonce = "n-0S6_WzA2Mj";
  expected.now_seconds = kNow;
  return expected;
}

json::object good_claims() {
  return {{"iss", "https://accounts.google.com"},
          {"aud", "client-1"},
          {"sub", "10769150350006150715113082367"},
          {"iat", kNow - 10},
          {"exp", kNow + 3600},
          {"nonce", "n-0S6_WzA2Mj"},
          {"email", "jsmith@example.com"},
          {"email_verified", true},
          {"name", "John Smith"},
          {"picture", "https://lh3.googleusercontent.com/a/example-photo"}};
}

std::optional<OidcFailure> failure_of(const json::object& claims,
                                      const ClaimExpectations& expected = expectations()) {
  auto result = check_id_token_claims(claims, expected);
  if (result) return std::nullopt;
  return oidc_failure_of(result.error());
}

TEST(IdTokenClaims, GoodClaimsGiveTheIdentity) {
  auto identity = check_id_token_claims(good_claims(), expectations());
  ASSERT_TRUE(identity) << identity.error().message;
  EXPECT_EQ(identity->issuer, "https://accounts.google.com");
  EXPECT_EQ(identity->subject, "10769150350006150715113082367");
  EXPECT_EQ(identity->email.value_or(""), "jsmith@example.com");
  EXPECT_TRUE(identity->email_verified);
  EXPECT_EQ(identity->name.value_or(""), "John Smith");
  EXPECT_EQ(identity->picture.value_or(""), "https://lh3.googleusercontent.com/a/example-photo");
}

TEST(IdTokenClaims, LegacyGoogleIssuerAccepted) {
  auto claims = good_claims();
  claims["iss"] = "accounts.google.com";
  EXPECT_EQ(failure_of(claims), std::nullopt);
}

TEST(IdTokenClaims, WrongOrMissingIssuer) {
  auto claims = good_claims();
  claims["iss"] = "https://evil.example";
  EXPECT_EQ(failure_of(claims), OidcFailure::issuer_mismatch);
  claims.erase("iss");
  EXPECT_EQ(failure_of(claims), OidcFailure::issuer_mismatch);
}

TEST(IdTokenClaims, AudienceAndAuthorizedParty) {
  auto claims = good_claims();
  claims["aud"] = "someone-else";
  EXPECT_EQ(failure_of(claims), OidcFailure::audience_mismatch);
  claims["aud"] = json::array{"client-1"};
  EXPECT_EQ(failure_of(claims), std::nullopt);
  claims["aud"] = json::array{"client-1", "other"};
  EXPECT_EQ(failure_of(claims), OidcFailure::audience_mismatch);  // several audiences need azp
  claims["azp"] = "other";
  EXPECT_EQ(failure_of(claims), OidcFailure::audience_mismatch);
  claims["azp"] = "client-1";
  EXPECT_EQ(failure_of(claims), std::nullopt);
  claims["aud"] = json::array{"other"};
  EXPECT_EQ(failure_of(claims), OidcFailure::audience_mismatch);
  claims["aud"] = 42;
  EXPECT_EQ(failure_of(claims), OidcFailure::audience_mismatch);
}

TEST(IdTokenClaims, ExpiryWithAtMostOneMinuteOfLeeway) {
  auto claims = good_claims();
  claims["exp"] = kNow - 30;  // within leeway
  EXPECT_EQ(failure_of(claims), std::nullopt);
  claims["exp"] = kNow - 61;
  EXPECT_EQ(failure_of(claims), OidcFailure::token_expired);
  claims.erase("exp");
  EXPECT_EQ(failure_of(claims), OidcFailure::token_expired);
  claims["exp"] = "tomorrow";
  EXPECT_EQ(failure_of(claims), OidcFailure::token_expired);
  claims["exp"] = static_cast<double>(kNow + 100) + 0.5;  // NumericDate may be fractional
  EXPECT_EQ(failure_of(claims), std::nullopt);

  auto expected = expectations();
  expected.leeway = std::chrono::hours(1);  // clamped to 60 s
  claims["exp"] = kNow - 120;
  EXPECT_EQ(failure_of(claims, expected), OidcFailure::token_expired);
}

TEST(IdTokenClaims, IssuedInTheFutureOrNotYetValid) {
  auto claims = good_claims();
  claims["iat"] = kNow + 3600;
  EXPECT_EQ(failure_of(claims), OidcFailure::token_not_yet_valid);
  claims["iat"] = kNow + 30;
  EXPECT_EQ(failure_of(claims), std::nullopt);
  claims["nbf"] = kNow + 120;
  EXPECT_EQ(failure_of(claims), OidcFailure::token_not_yet_valid);
}

TEST(IdTokenClaims, NonceMustMatch) {
  auto claims = good_claims();
  claims["nonce"] = "another";
  EXPECT_EQ(failure_of(claims), OidcFailure::nonce_mismatch);
  claims.erase("nonce");
  EXPECT_EQ(failure_of(claims), OidcFailure::nonce_mismatch);
  auto expected = expectations();
  expected.nonce.clear();
  EXPECT_EQ(failure_of(good_claims(), expected), OidcFailure::nonce_mismatch);
}

TEST(IdTokenClaims, SubjectRequired) {
  auto claims = good_claims();
  claims["sub"] = "";
  EXPECT_EQ(failure_of(claims), OidcFailure::missing_subject);
  claims["sub"] = 12345;
  EXPECT_EQ(failure_of(claims), OidcFailure::missing_subject);
  claims.erase("sub");
  EXPECT_EQ(failure_of(claims), OidcFailure::missing_subject);
}

TEST(IdTokenClaims, EmailVerifiedAsBoolOrString) {
  auto claims = good_claims();
  claims["email_verified"] = "true";
  EXPECT_TRUE(check_id_token_claims(claims, expectations())->email_verified);
  claims["email_verified"] = "false";
  EXPECT_FALSE(check_id_token_claims(claims, expectations())->email_verified);
  claims["email_verified"] = false;
  EXPECT_FALSE(check_id_token_claims(claims, expectations())->email_verified);
  claims["email_verified"] = 1;
  EXPECT_FALSE(check_id_token_claims(claims, expectations())->email_verified);
  claims.erase("email_verified");
  claims.erase("email");
  auto identity = check_id_token_claims(claims, expectations());
  ASSERT_TRUE(identity);
  EXPECT_FALSE(identity->email_verified);
  EXPECT_FALSE(identity->email);
}

std::string part(std::string_view json_text) { return core::base64url_encode(json_text); }

TEST(ParseIdToken, RejectsMalformedTokensAndForeignAlgorithms) {
  const std::string payload = part(R"({"sub":"x"})");
  const std::string sig = core::base64url_encode("signature");
  auto code = [](std::string_view token) {
    auto parsed = parse_id_token(token);
    return parsed ? std::nullopt : oidc_failure_of(parsed.error());
  };
  EXPECT_EQ(code(part(R"({"alg":"RS256","kid":"k"})") + "." + payload + "." + sig), std::nullopt);
  for (const char* header :
       {R"({"alg":"none"})", R"({"alg":"HS256"})", R"({"alg":"rs256"})", R"({"alg":"PS256"})",
        R"({"alg":"ES256"})", R"({})", R"({"alg":["RS256"]})", R"({"alg":"RS256","crit":["exp"]})",
        R"({"alg":"RS256","kid":7})", R"([1])"}) {
    EXPECT_EQ(code(part(header) + "." + payload + "." + sig), OidcFailure::invalid_id_token)
        << header;
  }
  const std::string good_header = part(R"({"alg":"RS256"})");
  EXPECT_EQ(code(""), OidcFailure::invalid_id_token);
  EXPECT_EQ(code("a.b"), OidcFailure::invalid_id_token);
  EXPECT_EQ(code(good_header + "." + payload + "." + sig + ".extra"),
            OidcFailure::invalid_id_token);
  EXPECT_EQ(code(good_header + "." + payload + "."), OidcFailure::invalid_id_token);
  EXPECT_EQ(code(good_header + ".!!!." + sig), OidcFailure::invalid_id_token);
  EXPECT_EQ(code(good_header + "." + part("[]") + "." + sig), OidcFailure::invalid_id_token);
  EXPECT_EQ(code(std::string(20000, 'a')), OidcFailure::invalid_id_token);
}

TEST(OidcError, CodesRoundTripAndMapToErrc) {
  const Error error = oidc_error(OidcFailure::nonce_mismatch, "detail");
  EXPECT_EQ(error.code, Errc::unauthorized);
  EXPECT_EQ(error.message, "nonce_mismatch: detail");
  EXPECT_EQ(oidc_failure_of(error), OidcFailure::nonce_mismatch);
  EXPECT_EQ(oidc_failure_of(oidc_error(OidcFailure::provider_unavailable)),
            OidcFailure::provider_unavailable);
  EXPECT_EQ(oidc_error(OidcFailure::provider_unavailable).code, Errc::unavailable);
  EXPECT_EQ(oidc_failure_of(Error{Errc::internal, "boom"}), std::nullopt);
}

}  // namespace
}  // namespace parley::auth::oidc
