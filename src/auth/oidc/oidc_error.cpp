#include "auth/oidc/oidc_error.hpp"

#include <array>

namespace parley::auth::oidc {

namespace {
constexpr std::array kAllFailures = {
    OidcFailure::invalid_request,        OidcFailure::provider_unavailable,
    OidcFailure::provider_misconfigured, OidcFailure::token_exchange_failed,
    OidcFailure::invalid_id_token,       OidcFailure::unknown_signing_key,
    OidcFailure::issuer_mismatch,        OidcFailure::audience_mismatch,
    OidcFailure::token_expired,          OidcFailure::token_not_yet_valid,
    OidcFailure::nonce_mismatch,         OidcFailure::missing_subject,
};
}  // namespace

std::string_view to_code(OidcFailure failure) noexcept {
  switch (failure) {
    case OidcFailure::invalid_request:
      return "invalid_request";
    case OidcFailure::provider_unavailable:
      return "provider_unavailable";
    case OidcFailure::provider_misconfigured:
      return "provider_misconfigured";
    case OidcFailure::token_exchange_failed:
      return "token_exchange_failed";
    case OidcFailure::invalid_id_token:
      return "invalid_id_token";
    case OidcFailure::unknown_signing_key:
      return "unknown_signing_key";
    case OidcFailure::issuer_mismatch:
      return "issuer_mismatch";
    case OidcFailure::audience_mismatch:
      return "audience_mismatch";
    case OidcFailure::token_expired:
      return "token_expired";
    case OidcFailure::token_not_yet_valid:
      return "token_not_yet_valid";
    case OidcFailure::nonce_mismatch:
      return "nonce_mismatch";
    case OidcFailure::missing_subject:
      return "missing_subject";
  }
  return "invalid_id_token";
}

Errc errc_of(OidcFailure failure) noexcept {
  switch (failure) {
    case OidcFailure::invalid_request:
      return Errc::invalid_request;
    case OidcFailure::provider_unavailable:
    case OidcFailure::provider_misconfigured:
      return Errc::unavailable;
    default:
      return Errc::unauthorized;
  }
}

Error oidc_error(OidcFailure failure, std::string_view detail) {
  std::string message(to_code(failure));
  if (!detail.empty()) {
    message += ": ";
    message += detail;
  }
  return Error{errc_of(failure), std::move(message)};
}

std::optional<OidcFailure> oidc_failure_of(const Error& error) noexcept {
  const std::string_view message = error.message;
  const std::string_view code = message.substr(0, message.find(':'));
  for (const OidcFailure failure : kAllFailures) {
    if (to_code(failure) == code && errc_of(failure) == error.code) return failure;
  }
  return std::nullopt;
}

}  // namespace parley::auth::oidc
