#pragma once
// The pure parts of id_token verification (OpenID Connect Core §3.1.3.7, RFC 8725): splitting
// the compact JWS, checking its header, and checking the claims. No I/O, no clock: the caller
// passes "now", so every rule is unit-testable.

#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace parley::auth::oidc {

/// The identity a provider vouched for. Users are keyed by (issuer, subject), never by email.
struct VerifiedIdentity {
  std::string issuer;
  std::string subject;
  std::optional<std::string> email;
  /// True only if the provider says so (JSON true or the string "true", as Google's older
  /// endpoints send). Link to an existing account by email only when this is true.
  bool email_verified = false;
  std::optional<std::string> name;
  std::optional<std::string> picture;
};

/// A compact JWS split into its parts. Only the header fields we act on are kept: `jku`, `x5u`,
/// `jwk` and `x5c` are never read, so a token cannot point us at its own key.
struct ParsedJws {
  std::string algorithm;
  std::optional<std::string> key_id;
  std::string signing_input;  ///< "<header>.<payload>" exactly as received
  std::string signature;      ///< decoded bytes
  boost::json::object claims;
};

/// Splits and decodes `token`. Rejects (OidcFailure::invalid_id_token) anything that is not
/// three base64url parts with JSON object header and payload, any `alg` other than RS256 (so
/// "none", HS256 and friends never reach a verifier), and any `crit` header (RFC 7515 §4.1.11:
/// we understand no extensions).
Result<ParsedJws> parse_id_token(std::string_view token);

struct ClaimExpectations {
  std::vector<std::string> allowed_issuers;
  std::string client_id;
  std::string nonce;
  std::int64_t now_seconds = 0;
  std::chrono::seconds leeway{60};
};

/// Checks iss, aud/azp, exp, iat, nbf, nonce and sub; returns the identity.
/// Errors: OidcFailure issuer_mismatch, audience_mismatch, token_expired, token_not_yet_valid,
/// nonce_mismatch, missing_subject, invalid_id_token (wrong claim types).
Result<VerifiedIdentity> check_id_token_claims(const boost::json::object& claims,
                                               const ClaimExpectations& expected);

}  // namespace parley::auth::oidc
