#pragma once
// OpenID Connect relying party for the authorization-code flow with PKCE (RFC 9700, OpenID
// Connect Core §3.1). Provider-neutral: Google in production, a local oidc-provider in tests.
//
// Flow: start() gives the URL to redirect the browser to plus the secrets (state, nonce,
// code_verifier) that the caller keeps in a single-use __Host- cookie; the provider redirects
// back with ?code&state; the caller checks state, then finish() exchanges the code and verifies
// the id_token.

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/oidc/id_token.hpp"
#include "auth/oidc/jwks.hpp"
#include "auth/oidc/oidc_error.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "outbound/http_client.hpp"

namespace parley::auth::oidc {

/// How the client authenticates at the token endpoint (RFC 6749 §2.3.1).
enum class TokenEndpointAuth {
  automatic,  ///< client_secret_basic if the discovery document allows it, else post
  client_secret_basic,
  client_secret_post,
};

struct OidcSettings {
  /// e.g. https://accounts.google.com/.well-known/openid-configuration. Must be https, except on
  /// a loopback host (tests).
  std::string discovery_url;
  std::string client_id;
  std::string client_secret;
  /// Registered with the provider and matched exactly by it.
  std::string redirect_uri;
  /// Accepted `iss` values, in the discovery document and in id_tokens.
  std::vector<std::string> allowed_issuers;
  std::string scopes = "openid email profile";
  TokenEndpointAuth token_endpoint_auth = TokenEndpointAuth::automatic;
  /// Clock skew allowed on exp/iat/nbf; at most 60 s (SECURITY.md item 13).
  std::chrono::seconds clock_leeway{60};
  /// Deadline for each request to the provider.
  std::chrono::milliseconds http_timeout{std::chrono::seconds(10)};

  /// Google's endpoints and issuers ("https://accounts.google.com" and "accounts.google.com").
  static OidcSettings google(std::string client_id, std::string client_secret,
                             std::string redirect_uri);
};

/// What start() hands back. The caller redirects to authorization_url and keeps the other three
/// server-side or in a single-use __Host- cookie: they are secrets, never logged.
struct AuthorizationStart {
  std::string authorization_url;
  std::string state;
  std::string nonce;
  std::string code_verifier;
};

/// Thread-safe: start() and finish() may run concurrently on any threads. Both are BLOCKING
/// (they may call the provider through HttpClient, for up to OidcSettings::http_timeout per
/// request): run them on the worker pool, never on a network thread.
///
/// Every error is an Error built by oidc_error(): Errc plus a stable OidcFailure code that
/// oidc_failure_of() recovers, suitable for `?error=<code>` in a redirect.
class OidcClient {
 public:
  /// `http` and `clock` must outlive the client. Throws std::invalid_argument on bad settings
  /// (empty client_id/redirect_uri/issuers, non-https discovery URL, scopes without "openid",
  /// leeway above 60 s): configuration errors are fatal at start-up.
  OidcClient(outbound::HttpClient& http, const core::Clock& clock, OidcSettings settings);
  ~OidcClient();
  OidcClient(const OidcClient&) = delete;
  OidcClient& operator=(const OidcClient&) = delete;

  /// Builds the authorization request: response_type=code, client_id, redirect_uri, scope,
  /// state, nonce, code_challenge (S256 of a fresh verifier). state, nonce and verifier are 32
  /// CSPRNG bytes each, base64url. Fetches the discovery document on first use (cached 24 h).
  ///
  /// Errors: provider_unavailable, provider_misconfigured.
  Result<AuthorizationStart> start();

  /// Exchanges `code` at the token endpoint (with `code_verifier` and client authentication),
  /// then verifies the id_token: RS256 signature by the JWKS key named by `kid` (JWKS cached per
  /// Cache-Control max-age, default 1 h; an unknown kid triggers at most one refetch per
  /// minute), iss, aud/azp, exp/iat/nbf within the leeway, nonce == `expected_nonce`, sub.
  ///
  /// Errors: invalid_request (empty/oversized inputs), provider_unavailable,
  /// provider_misconfigured, token_exchange_failed (e.g. a replayed code or a wrong verifier),
  /// invalid_id_token, unknown_signing_key, issuer_mismatch, audience_mismatch, token_expired,
  /// token_not_yet_valid, nonce_mismatch, missing_subject.
  Result<VerifiedIdentity> finish(std::string_view code, std::string_view code_verifier,
                                  std::string_view expected_nonce);

  /// Verifies an id_token obtained some other way (finish() uses it after the exchange).
  /// Same checks and errors as finish() from invalid_id_token onwards.
  Result<VerifiedIdentity> verify_id_token(std::string_view id_token,
                                           std::string_view expected_nonce);

 private:
  struct Discovery;
  struct KeyCache;

  Result<std::shared_ptr<const Discovery>> discovery();
  Result<std::shared_ptr<const JsonWebKeySet>> keys_for(const Discovery& provider,
                                                        const std::optional<std::string>& kid);
  Result<outbound::HttpResponse> fetch(outbound::HttpRequest request, std::string_view what);

  outbound::HttpClient& http_;
  const core::Clock& clock_;
  OidcSettings settings_;

  // Each mutex is held across its fetch so that a burst of logins causes one request to the
  // provider, not one per login; the wait is bounded by the HTTP timeout.
  std::mutex discovery_mutex_;
  std::shared_ptr<const Discovery> discovery_;  // guarded by discovery_mutex_
  std::int64_t discovery_expires_ms_ = 0;       // guarded by discovery_mutex_

  std::mutex keys_mutex_;
  std::unique_ptr<KeyCache> keys_;  // guarded by keys_mutex_
};

}  // namespace parley::auth::oidc
