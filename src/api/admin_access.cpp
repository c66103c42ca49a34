#include "api/admin_access.hpp"

#include <algorithm>
#include <cctype>

namespace parley::api {

namespace asio = boost::asio;

bool is_admin_email(const std::vector<std::string>& admin_emails, std::string_view email) {
  if (email.empty()) return false;
  std::string lowered(email);
  std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return std::find(admin_emails.begin(), admin_emails.end(), lowered) != admin_emails.end();
}

asio::awaitable<Result<auth::Principal>> require_admin(const AccountRoutesDeps& accounts,
                                                       const std::vector<std::string>& admin_emails,
                                                       const net::RequestContext& ctx) {
  auto principal = co_await authenticate(accounts, ctx);
  if (!principal) co_return principal;
  if (principal->is_guest || admin_emails.empty()) {
    accounts.log.warning("admin_access_refused",
                         {{"request_id", ctx.request_id}, {"user_id", principal->user_id}});
    co_return fail(Errc::forbidden, "administrators only");
  }
  // The e-mail is read fresh on every request (not taken from the token), so removing an
  // address from the list or changing an account's e-mail takes effect at once.
  auto job = [&service = accounts.accounts, principal = *principal]() {
    return service.profile(principal);
  };
  auto user = co_await accounts.workers.run(std::move(job));
  if (!user) co_return user.error();
  if (!user->email || !is_admin_email(admin_emails, *user->email)) {
    accounts.log.warning("admin_access_refused",
                         {{"request_id", ctx.request_id}, {"user_id", principal->user_id}});
    co_return fail(Errc::forbidden, "administrators only");
  }
  co_return principal;
}

}  // namespace parley::api
