#pragma once
// Stable reasons for OpenID Connect failures. The sign-in callback turns them into a redirect such
// as `/login?error=nonce_mismatch`, so the strings returned by to_code never change.

#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace parley::auth::oidc {

/// Why a sign-in failed. Add new values at the end; never rename a code.
enum class OidcFailure {
  invalid_request,         ///< empty or malformed code / verifier / nonce (Errc::invalid_request)
  provider_unavailable,    ///< discovery, JWKS or token endpoint unreachable or 5xx (unavailable)
  provider_misconfigured,  ///< unusable discovery document or JWKS (Errc::unavailable)
  token_exchange_failed,   ///< the token endpoint refused the code (4xx, e.g. invalid_grant)
  invalid_id_token,        ///< malformed, wrong algorithm, bad signature (Errc::unauthorized)
  unknown_signing_key,     ///< no JWKS key has the token's `kid`, even after a refetch
  issuer_mismatch,         ///< `iss` not in OidcSettings::allowed_issuers
  audience_mismatch,       ///< `aud` / `azp` do not name our client_id
  token_expired,           ///< `exp` passed (beyond the clock leeway) or missing
  token_not_yet_valid,     ///< `iat` or `nbf` in the future (beyond the leeway)
  nonce_mismatch,          ///< `nonce` missing or not the one we sent
  missing_subject,         ///< `sub` missing or empty
};

/// Stable snake_case code, e.g. "nonce_mismatch".
std::string_view to_code(OidcFailure failure) noexcept;

/// The Errc that a failure maps to: unauthorized for token problems, unavailable for provider
/// problems, invalid_request for bad caller input.
Errc errc_of(OidcFailure failure) noexcept;

/// Builds the Error returned by this module: its message is "<code>" or "<code>: <detail>".
/// The detail helps operators and never contains tokens, codes or secrets.
Error oidc_error(OidcFailure failure, std::string_view detail = {});

/// The failure an Error from this module carries (parsed from the message prefix), or nullopt if
/// the Error came from elsewhere.
std::optional<OidcFailure> oidc_failure_of(const Error& error) noexcept;

}  // namespace parley::auth::oidc
