#pragma once
// Google sign-in (OpenID Connect authorization code flow with PKCE, state and nonce):
// GET /api/auth/google starts it, GET /api/auth/google/callback finishes it. Every outcome is a
// redirect to FRONTEND_URL: tokens in the fragment on success, `#error=<code>` otherwise.

#include <string>

#include "auth/accounts.hpp"
#include "auth/oauth_state_store.hpp"
#include "auth/oidc/oidc_client.hpp"
#include "core/log.hpp"
#include "core/rate_limiter.hpp"
#include "core/worker_pool.hpp"
#include "net/router.hpp"

namespace parley::api {

struct GoogleRoutesDeps {
  auth::oidc::OidcClient* oidc;  ///< null when GOOGLE_CLIENT_ID is unset: the routes say 404
  auth::OAuthStateStore& states;
  auth::AccountService& accounts;
  core::WorkerPool& workers;
  core::Logger& log;
  core::RateLimiter& limiter;
  core::RateLimit start_limit{30, std::chrono::minutes(1), 15};
  std::string frontend_url;
  bool secure_cookies = false;  ///< BACKEND_URL is https: use a __Host- cookie with Secure
};

void add_google_routes(net::Router& router, const GoogleRoutesDeps& deps);

}  // namespace parley::api
