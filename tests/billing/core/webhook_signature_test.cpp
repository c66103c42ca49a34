// verify_stripe_signature: every worked case of shared/apis/stripe/WEBHOOK-SIGNATURE.md (values
// copied here; computed there with Python's hmac and checked with openssl), then what the SDKs'
// parsing allows and refuses, the size cap, rotation and the order of the checks.

#include "billing/core/webhook_signature.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace parley::billing {
namespace {

using namespace std::chrono_literals;

const std::string kSecret = "whsec_parleyTestSecret0123456789abcdef";
const std::string kOldSecret = "whsec_parleyOldSecretfedcba9876543210";
constexpr std::int64_t kT = 1767225660;  // 2026-01-01T00:01:00Z
const std::string kBody =
    R"({"id":"evt_test_webhook","object":"event","type":"checkout.session.completed"})";
const std::string kV1 = "201c1429b331b61be0095f832c87caf90c65601a31f2a68215649f9f638c3b84";
const std::string kOldV1 = "3afcec94b86e303a80092954ae164a3bc0767af465a378f433441fe435c40f7b";
const std::string kHeader = "t=1767225660,v1=" + kV1;
const std::string kBodyWithNewlineV1 =
    "d278959d82117ede9b7cb175d930f72eeea56164e2027f0ed1c733a3eff1b70c";
const std::string kUtf8Body =
    R"({"id":"evt_test_utf8","object":"event","type":"customer.updated","data":{"object":{"name":"Zoë 张"}}})";
const std::string kUtf8V1 = "05aa7dd5581e892523945b60754fd7637dca4cf6f743463532ad87d5ef1bb77e";

Result<void> verify(std::string_view header, std::string_view body, std::int64_t now = kT,
                    std::vector<std::string> secrets = {kSecret},
                    std::chrono::seconds tolerance = kDefaultSignatureTolerance) {
  return verify_stripe_signature(header, body, secrets, now, tolerance);
}

void expect_refused(const Result<void>& result, std::string_view message) {
  ASSERT_FALSE(result) << "expected refusal: " << message;
  EXPECT_EQ(result.error().code, Errc::invalid_request);
  EXPECT_EQ(result.error().message, message);
}

constexpr std::string_view kNoMatch =
    "No signatures found matching the expected signature for payload";
constexpr std::string_view kUnparsable = "Unable to extract timestamp and signatures from header";
constexpr std::string_view kNoV1 = "No signatures found with expected scheme v1";
constexpr std::string_view kStale = "Timestamp outside the tolerance zone";

// ---- The worked vector table -----------------------------------------------------------------

TEST(WebhookSignature, BaseVector) {
  EXPECT_EQ(kBody.size(), 78u);
  EXPECT_EQ(stripe_signature_v1(kSecret, kT, kBody), kV1);
  auto ok = verify(kHeader, kBody);
  EXPECT_TRUE(ok) << ok.error().message;
}

TEST(WebhookSignature, SecretRotationAnyV1Matches) {
  EXPECT_EQ(stripe_signature_v1(kOldSecret, kT, kBody), kOldV1);
  const std::string header = "t=1767225660,v1=" + kOldV1 + ",v1=" + kV1;
  EXPECT_TRUE(verify(header, kBody));
  // Parley's side of a rotation: either configured secret verifies.
  EXPECT_TRUE(verify(header, kBody, kT, {kOldSecret}));
  EXPECT_TRUE(verify(kHeader, kBody, kT, {kOldSecret, kSecret}));
  EXPECT_TRUE(verify("t=1767225660,v1=" + kOldV1, kBody, kT, {kSecret, kOldSecret}));
  expect_refused(verify("t=1767225660,v1=" + kOldV1, kBody, kT, {kSecret}), kNoMatch);
}

TEST(WebhookSignature, LegacySchemeIgnored) {
  EXPECT_TRUE(verify("t=1767225660,v0=deadbeef,v1=" + kV1, kBody));
}

TEST(WebhookSignature, BodyWithTrailingNewlineIsRefused) {
  const std::string body = kBody + "\n";
  EXPECT_EQ(stripe_signature_v1(kSecret, kT, body), kBodyWithNewlineV1);
  expect_refused(verify(kHeader, body), kNoMatch);
}

TEST(WebhookSignature, OnlyV0IsRefused) {
  expect_refused(verify("t=1767225660,v0=" + kV1, kBody), kNoV1);
}

TEST(WebhookSignature, NoTimestampIsRefused) {
  expect_refused(verify("v1=" + kV1, kBody), kUnparsable);
}

TEST(WebhookSignature, StaleIsRefused) { expect_refused(verify(kHeader, kBody, kT + 301), kStale); }

TEST(WebhookSignature, EdgeOfTheWindowIsAccepted) { EXPECT_TRUE(verify(kHeader, kBody, kT + 300)); }

TEST(WebhookSignature, NonAsciiBody) {
  EXPECT_EQ(kUtf8Body.size(), 103u);
  EXPECT_EQ(stripe_signature_v1(kSecret, kT, kUtf8Body), kUtf8V1);
  EXPECT_TRUE(verify("t=1767225660,v1=" + kUtf8V1, kUtf8Body));
}

// ---- Time ------------------------------------------------------------------------------------

TEST(WebhookSignature, FutureTimestampsAreAccepted) {
  EXPECT_TRUE(verify(kHeader, kBody, kT - 3600));
  EXPECT_TRUE(verify(kHeader, kBody, 0));
}

TEST(WebhookSignature, ZeroToleranceDisablesTheAgeCheck) {
  EXPECT_TRUE(verify(kHeader, kBody, kT + 10 * 365 * 86400, {kSecret}, 0s));
  expect_refused(verify(kHeader, kBody, kT + 61, {kSecret}, 60s), kStale);
  EXPECT_TRUE(verify(kHeader, kBody, kT + 60, {kSecret}, 60s));
}

TEST(WebhookSignature, SignatureIsCheckedBeforeTheTimestamp) {
  // Stale and forged: the forgery is what is reported.
  expect_refused(verify(kHeader, kBody + " ", kT + 10'000), kNoMatch);
}

// ---- Parsing: exactly as lenient as the SDKs ---------------------------------------------------

TEST(WebhookSignature, KeysAreComparedExactly) {
  // Both SDKs split on ',' and compare keys without trimming: " v1" is another key.
  expect_refused(verify("t=1767225660, v1=" + kV1, kBody), kNoV1);
  expect_refused(verify(" t=1767225660,v1=" + kV1, kBody), kUnparsable);
  expect_refused(verify("T=1767225660,v1=" + kV1, kBody), kUnparsable);
  expect_refused(verify("t=1767225660,V1=" + kV1, kBody), kNoV1);
  expect_refused(verify("t =1767225660,v1=" + kV1, kBody), kUnparsable);
}

TEST(WebhookSignature, SignatureValuesAreComparedExactly) {
  std::string upper = kV1;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  expect_refused(verify("t=1767225660,v1=" + upper, kBody), kNoMatch);
  expect_refused(verify("t=1767225660,v1= " + kV1, kBody), kNoMatch);
  expect_refused(verify("t=1767225660,v1=" + kV1.substr(0, 63), kBody), kNoMatch);
  expect_refused(verify("t=1767225660,v1=" + kV1 + "0", kBody), kNoMatch);
}

TEST(WebhookSignature, BlanksAroundTheTimestampAreToleratedLikeTheSdks) {
  // python int(" 1767225660 ") and node parseInt(" 1767225660") both read 1767225660, and both
  // sign the number as re-formatted, so these verify with the base signature.
  EXPECT_TRUE(verify("t= 1767225660,v1=" + kV1, kBody));
  EXPECT_TRUE(verify("t=1767225660 ,v1=" + kV1, kBody));
  EXPECT_TRUE(verify("t=\t1767225660\t,v1=" + kV1, kBody));
  EXPECT_TRUE(verify("t=01767225660,v1=" + kV1, kBody));
}

TEST(WebhookSignature, UnparsableOrRepeatedTimestampsAreRefused) {
  for (const std::string t :
       {"", " ", "abc", "-1767225660", "+1767225660", "1767225660abc", "1767225660.0",
        "1_767_225_660", "0x69558c3c", "12345678901234567890"}) {
    expect_refused(verify("t=" + t + ",v1=" + kV1, kBody), kUnparsable);
  }
  expect_refused(verify("t,v1=" + kV1, kBody), kUnparsable);
  // Stripe never sends two: node would keep the last and python the first.
  expect_refused(verify("t=1767225660,t=1767225660,v1=" + kV1, kBody), kUnparsable);
  expect_refused(verify("t=1767225660,v1=" + kV1 + ",t=1", kBody), kUnparsable);
}

TEST(WebhookSignature, ValueEndsAtTheNextEqualsSign) {
  // node `item.split('=')[1]`, python `item.split('=', 2)[1]`.
  EXPECT_TRUE(verify("t=1767225660,v1=" + kV1 + "=ignored", kBody));
  EXPECT_TRUE(verify("t=1767225660=ignored,v1=" + kV1, kBody));
}

TEST(WebhookSignature, EmptyAndBareItemsNeverMatch) {
  EXPECT_TRUE(verify("t=1767225660,,v1=" + kV1 + ",", kBody));
  EXPECT_TRUE(verify("t=1767225660,v1,v1=" + kV1, kBody));
  expect_refused(verify("t=1767225660,v1", kBody), kNoMatch);
  expect_refused(verify("t=1767225660,v1=", kBody), kNoMatch);
  expect_refused(verify("t=1767225660", kBody), kNoV1);
  expect_refused(verify(",", kBody), kUnparsable);
}

TEST(WebhookSignature, HeaderSizeIsCapped) {
  std::string header = kHeader + ",v0=";
  header.append(kMaxSignatureHeaderBytes - header.size(), 'a');
  ASSERT_EQ(header.size(), kMaxSignatureHeaderBytes);
  EXPECT_TRUE(verify(header, kBody));
  header.push_back('a');
  expect_refused(verify(header, kBody), "Stripe-Signature header is too long");
  expect_refused(verify("", kBody), "No stripe-signature header value was provided");
}

TEST(WebhookSignature, TamperedBodyOrWrongSecretIsRefused) {
  std::string body = kBody;
  body[10] = 'X';
  expect_refused(verify(kHeader, body), kNoMatch);
  expect_refused(verify(kHeader, kBody, kT, {"whsec_someoneElse"}), kNoMatch);
  // The signature covers the timestamp: moving t breaks it.
  expect_refused(verify("t=1767225661,v1=" + kV1, kBody), kNoMatch);
}

TEST(WebhookSignature, NoUsableSecretIsAConfigurationBug) {
  auto none = verify(kHeader, kBody, kT, {});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, Errc::internal);
  // An empty secret is never used as a key (anyone could sign with it).
  auto empty = verify(kHeader, kBody, kT, {""});
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, Errc::internal);
  const std::string forged = "t=1767225660,v1=" + stripe_signature_v1("", kT, kBody);
  expect_refused(verify(forged, kBody, kT, {"", kSecret}), kNoMatch);
  EXPECT_TRUE(verify(kHeader, kBody, kT, {"", kSecret}));
}

}  // namespace
}  // namespace parley::billing
