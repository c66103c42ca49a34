#pragma once
// Who may use the operator endpoints (/api/admin/...): signed-in accounts whose e-mail is listed
// in PARLEY_ADMIN_EMAILS. Shared by every admin route (logs, metrics).

#include <boost/asio/awaitable.hpp>
#include <string>
#include <vector>

#include "api/account_routes.hpp"
#include "auth/accounts.hpp"
#include "core/error.hpp"
#include "net/http.hpp"

namespace parley::api {

/// True when `email` (compared case-insensitively) is one of `admin_emails` (already lower-case,
/// as core::Config holds them). An empty list makes nobody an admin.
bool is_admin_email(const std::vector<std::string>& admin_emails, std::string_view email);

/// The request's principal when it is an admin. Runs on the caller's strand; the token check and
/// the account lookup run on the worker pool.
/// Errors: unauthorized (no or bad bearer token), forbidden (signed in, but not an admin: guests
/// never are), busy (worker pool full), internal/unavailable (database).
/// Refusals are logged ("admin_access_refused", with the request id and user id).
boost::asio::awaitable<Result<auth::Principal>> require_admin(
    const AccountRoutesDeps& accounts, const std::vector<std::string>& admin_emails,
    const net::RequestContext& ctx);

}  // namespace parley::api
