#include "auth/oidc/id_token.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cmath>
#include <limits>

#include "auth/oidc/oidc_error.hpp"
#include "core/base64.hpp"

namespace parley::auth::oidc {

namespace json = boost::json;

namespace {

// Google's id_tokens are about 1 KiB; anything far larger is not an id_token.
constexpr std::size_t kMaxTokenBytes = 16 * 1024;
// OpenID Connect Core §2: `sub` is at most 255 ASCII characters.
constexpr std::size_t kMaxSubjectBytes = 255;

std::optional<json::object> decode_json_object(std::string_view part) {
  const auto bytes = core::base64url_decode(part);
  if (!bytes) return std::nullopt;
  boost::system::error_code ec;
  json::value value = json::parse(*bytes, ec);
  if (ec || !value.is_object()) return std::nullopt;
  return std::move(value.get_object());
}

/// A NumericDate (RFC 7519 §2): JSON number of seconds; fractions are truncated.
std::optional<std::int64_t> numeric_date(const json::value* value) {
  if (value == nullptr) return std::nullopt;
  if (const auto* i = value->if_int64()) return *i;
  if (const auto* u = value->if_uint64()) {
    if (*u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return static_cast<std::int64_t>(*u);
    }
    return std::nullopt;
  }
  if (const auto* d = value->if_double()) {
    // 1e15 s is ~31 million years: far outside any real date, safely inside int64.
    if (std::isfinite(*d) && std::fabs(*d) < 1e15) return static_cast<std::int64_t>(*d);
  }
  return std::nullopt;
}

std::optional<std::string> optional_string(const json::object& claims, std::string_view name) {
  const auto* value = claims.if_contains(name);
  if (value == nullptr || !value->is_string()) return std::nullopt;
  return std::string(value->get_string());
}

bool constant_time_equals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

Result<ParsedJws> parse_id_token(std::string_view token) {
  if (token.empty() || token.size() > kMaxTokenBytes) {
    return oidc_error(OidcFailure::invalid_id_token, "id_token missing or too large");
  }
  const auto first_dot = token.find('.');
  const auto second_dot =
      first_dot == std::string_view::npos ? first_dot : token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos ||
      token.find('.', second_dot + 1) != std::string_view::npos) {
    return oidc_error(OidcFailure::invalid_id_token, "id_token is not a compact JWS");
  }
  const auto header = decode_json_object(token.substr(0, first_dot));
  if (!header) return oidc_error(OidcFailure::invalid_id_token, "id_token header is not JSON");

  ParsedJws jws;
  const auto* alg = header->if_contains("alg");
  if (alg == nullptr || !alg->is_string() || alg->get_string() != "RS256") {
    // The allowlist is one algorithm: "none", HS256 keyed with the public key, PS/ES variants
    // all stop here, before any key is looked up.
    return oidc_error(OidcFailure::invalid_id_token, "id_token alg is not RS256");
  }
  jws.algorithm = "RS256";
  if (header->contains("crit")) {
    return oidc_error(OidcFailure::invalid_id_token, "id_token has critical header extensions");
  }
  if (const auto* kid = header->if_contains("kid")) {
    if (!kid->is_string()) return oidc_error(OidcFailure::invalid_id_token, "kid not a string");
    jws.key_id = std::string(kid->get_string());
  }

  auto claims = decode_json_object(token.substr(first_dot + 1, second_dot - first_dot - 1));
  if (!claims) return oidc_error(OidcFailure::invalid_id_token, "id_token payload is not JSON");
  jws.claims = std::move(*claims);

  auto signature = core::base64url_decode(token.substr(second_dot + 1));
  if (!signature || signature->empty()) {
    return oidc_error(OidcFailure::invalid_id_token, "id_token signature is not base64url");
  }
  jws.signature = std::move(*signature);
  jws.signing_input = std::string(token.substr(0, second_dot));
  return jws;
}

Result<VerifiedIdentity> check_id_token_claims(const json::object& claims,
                                               const ClaimExpectations& expected) {
  VerifiedIdentity identity;

  const auto issuer = optional_string(claims, "iss");
  if (!issuer || std::find(expected.allowed_issuers.begin(), expected.allowed_issuers.end(),
                           *issuer) == expected.allowed_issuers.end()) {
    return oidc_error(OidcFailure::issuer_mismatch);
  }
  identity.issuer = *issuer;

  // aud: our client_id, as a string or inside an array. With several audiences, the authorized
  // party must be us (OpenID Connect Core §3.1.3.7 steps 3-5).
  const auto* aud = claims.if_contains("aud");
  std::size_t audience_count = 0;
  bool audience_ok = false;
  if (aud != nullptr && aud->is_string()) {
    audience_count = 1;
    audience_ok = aud->get_string() == expected.client_id;
  } else if (aud != nullptr && aud->is_array()) {
    for (const auto& entry : aud->get_array()) {
      ++audience_count;
      if (entry.is_string() && entry.get_string() == expected.client_id) audience_ok = true;
    }
  }
  if (!audience_ok) return oidc_error(OidcFailure::audience_mismatch, "aud");
  const auto azp = optional_string(claims, "azp");
  if (claims.contains("azp") && !azp) return oidc_error(OidcFailure::audience_mismatch, "azp");
  if ((audience_count > 1 && !azp) || (azp && *azp != expected.client_id)) {
    return oidc_error(OidcFailure::audience_mismatch, "azp");
  }

  const std::int64_t leeway = std::clamp<std::int64_t>(expected.leeway.count(), 0, 60);
  const auto exp = numeric_date(claims.if_contains("exp"));
  if (!exp) return oidc_error(OidcFailure::token_expired, "exp missing");
  if (expected.now_seconds - leeway >= *exp) return oidc_error(OidcFailure::token_expired);
  const auto iat = numeric_date(claims.if_contains("iat"));
  if (!iat) return oidc_error(OidcFailure::invalid_id_token, "iat missing");
  if (*iat > expected.now_seconds + leeway) {
    return oidc_error(OidcFailure::token_not_yet_valid, "iat in the future");
  }
  if (claims.contains("nbf")) {
    const auto nbf = numeric_date(claims.if_contains("nbf"));
    if (!nbf || *nbf > expected.now_seconds + leeway) {
      return oidc_error(OidcFailure::token_not_yet_valid, "nbf");
    }
  }

  const auto nonce = optional_string(claims, "nonce");
  if (expected.nonce.empty() || !nonce || !constant_time_equals(*nonce, expected.nonce)) {
    return oidc_error(OidcFailure::nonce_mismatch);
  }

  const auto subject = optional_string(claims, "sub");
  if (!subject || subject->empty() || subject->size() > kMaxSubjectBytes) {
    return oidc_error(OidcFailure::missing_subject);
  }
  identity.subject = *subject;

  identity.email = optional_string(claims, "email");
  if (const auto* verified = claims.if_contains("email_verified")) {
    identity.email_verified = (verified->is_bool() && verified->get_bool()) ||
                              (verified->is_string() && verified->get_string() == "true");
  }
  identity.name = optional_string(claims, "name");
  identity.picture = optional_string(claims, "picture");
  return identity;
}

}  // namespace parley::auth::oidc
