#pragma once
// Accounts over HTTP, with the original server's paths: register, login, logout, token refresh,
// guests, and the signed-in user's own account (profile, username, language, password, avatar,
// deletion). Handlers parse and validate, call the AccountService on the worker pool, and shape
// the reply; the rules live in auth/.

#include <filesystem>
#include <functional>

#include "auth/accounts.hpp"
#include "core/config.hpp"
#include "core/log.hpp"
#include "core/worker_pool.hpp"
#include "net/router.hpp"
#include "store/database.hpp"

namespace parley::api {

struct AccountRoutesDeps {
  auth::AccountService& accounts;
  core::WorkerPool& workers;
  store::Database& database;
  core::Logger& log;
  std::string public_base_url;          ///< BACKEND_URL, for absolute avatar URLs
  std::filesystem::path avatar_folder;  ///< UPLOAD_DIR/avatars
  std::size_t max_avatar_bytes = 5 * 1024 * 1024;
  /// Called (on a network thread, must not block) when every session of a user ended: password
  /// changed or account deleted. The real-time layer drops that user's live connections.
  std::function<void(std::int64_t user_id, const std::string& reason)> on_sessions_ended{};
  /// Called after a user's preferred language changed (live connections read in it now).
  std::function<void(std::int64_t user_id)> on_language_changed{};
  /// Called on a worker just before an account is deleted, to collect what the user keeps
  /// outside the database (a voice reference's recording, a provider's cloned voice). The
  /// returned function runs on the worker once the deletion committed and removes it; the
  /// database rows themselves go with the account.
  std::function<std::function<void()>(std::int64_t user_id)> prepare_account_removal{};
};

void add_account_routes(net::Router& router, const AccountRoutesDeps& deps);

/// The bearer token's principal (verified signature, claims and an active session).
/// Errors: unauthorized (missing, malformed, expired, revoked), or the worker pool's busy.
boost::asio::awaitable<Result<auth::Principal>> authenticate(const AccountRoutesDeps& deps,
                                                             const net::RequestContext& ctx);

/// `{"access_token","refresh_token","token_type":"Bearer","expires_in","user"}`.
net::Response token_response(net::http::status status, const auth::SignedIn& signed_in,
                             const std::string& public_base_url, unsigned version);

}  // namespace parley::api
