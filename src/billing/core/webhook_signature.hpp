#pragma once
// Verification of Stripe's `Stripe-Signature` webhook header, exactly as Stripe's own SDKs do it
// (stripe-node `Webhooks.ts`, stripe-python `_webhook.py`; the rules and test vectors are in
// shared/apis/stripe/WEBHOOK-SIGNATURE.md). A webhook is the only way Stripe tells Parley that a
// subscription started, renewed or ended, and its endpoint is public: this check is what stops
// anyone else from granting themselves a paid plan.
//
//   header  = t=<unix seconds>,v1=<hex HMAC-SHA256>[,v1=...][,v0=...]
//   signed  = "<t>.<raw body>", HMAC key = the endpoint secret's UTF-8 bytes ("whsec_..." as is)
//
// Parsing is as lenient as the SDKs and no more: the header is split on ',' and each item on '='
// (the value ends at the next '='); keys are compared exactly (" v1" after ", " is not "v1");
// any `v1` may match; other schemes (v0) are ignored. Stricter than the SDKs, because Stripe never
// sends them: a missing, repeated or unparsable `t` is refused (spaces or tabs around its digits
// are allowed, as both SDKs allow them; signs and other characters are not), and so is a header
// over kMaxSignatureHeaderBytes. The HTTP layer has already removed whitespace around the whole
// field value. The signature is checked before the timestamp, and only OLD timestamps are
// refused (a clock behind Stripe's must not drop genuine events); replays inside the window are
// stopped by de-duplicating event ids (BillingStore::record_event).
//
// Thread-safety: a pure function; call it from any thread. It does not block (a few HMACs).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace parley::billing {

/// Stripe's DEFAULT_TOLERANCE.
inline constexpr std::chrono::seconds kDefaultSignatureTolerance{300};

/// Longest Stripe-Signature header accepted (Stripe's are ~80 bytes plus ~68 per signature).
inline constexpr std::size_t kMaxSignatureHeaderBytes = 8 * 1024;

/// Checks that `raw_body` was signed by Stripe with one of `secrets` (several during a secret
/// rotation: STRIPE_WEBHOOK_SECRET may list them) no more than `tolerance` before `now_seconds`.
/// @param header       the Stripe-Signature header's value.
/// @param raw_body     the request body byte for byte, never re-serialised JSON.
/// @param secrets      endpoint secrets ("whsec_..."); empty strings are skipped.
/// @param now_seconds  current Unix time in seconds (injected so tests are deterministic).
/// @param tolerance    oldest accepted signature age; 0 (or less) disables the age check, as in
///                     the SDKs.
/// Errors: Errc::invalid_request (HTTP 400, what Stripe expects for a delivery it should not
/// retry as is) with Stripe's messages: "No stripe-signature header value was provided",
/// "Stripe-Signature header is too long", "Unable to extract timestamp and signatures from
/// header", "No signatures found with expected scheme v1", "No signatures found matching the
/// expected signature for payload", "Timestamp outside the tolerance zone".
/// Errc::internal when `secrets` holds no non-empty secret (a configuration bug: the webhook
/// endpoint should not be served then).
Result<void> verify_stripe_signature(std::string_view header, std::string_view raw_body,
                                     std::span<const std::string> secrets, std::int64_t now_seconds,
                                     std::chrono::seconds tolerance = kDefaultSignatureTolerance);

/// The `v1` signature Stripe would send for `raw_body` at `timestamp` (lower-case hex). For tests
/// and local tools that play Stripe; not needed to verify.
std::string stripe_signature_v1(std::string_view secret, std::int64_t timestamp,
                                std::string_view raw_body);

}  // namespace parley::billing
