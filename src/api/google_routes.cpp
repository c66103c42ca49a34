#include "api/google_routes.hpp"

#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <map>

#include "core/random.hpp"

namespace parley::api {

namespace asio = boost::asio;
namespace http = net::http;
using net::RequestContext;
using net::Response;

namespace {

constexpr int kCookieSeconds = 600;

std::string cookie_name(const GoogleRoutesDeps& deps) {
  // __Host- cookies must be Secure with Path=/ (and are then immune to subdomain injection).
  return deps.secure_cookies ? "__Host-parley_oauth" : "parley_oauth";
}

std::string cookie_value(const net::Request& request, const std::string& name) {
  std::string_view header = request[http::field::cookie];
  while (!header.empty()) {
    const auto semicolon = header.find(';');
    std::string_view item = header.substr(0, semicolon);
    header =
        semicolon == std::string_view::npos ? std::string_view{} : header.substr(semicolon + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    if (item.size() > name.size() && item.substr(0, name.size()) == name &&
        item[name.size()] == '=') {
      return std::string(item.substr(name.size() + 1));
    }
  }
  return {};
}

std::string set_cookie(const GoogleRoutesDeps& deps, const std::string& value, int max_age) {
  std::string cookie = cookie_name(deps) + "=" + value + "; Max-Age=" + std::to_string(max_age) +
                       "; HttpOnly; SameSite=Lax";
  cookie += deps.secure_cookies ? "; Path=/; Secure" : "; Path=/api/auth/google";
  return cookie;
}

std::string form_value(std::string_view value) {
  return boost::urls::encode(value, boost::urls::unreserved_chars);
}

Response redirect(const std::string& location, unsigned version) {
  Response res{http::status::found, version};
  res.set(http::field::location, location);
  res.set(http::field::cache_control, "no-store");
  res.prepare_payload();
  return res;
}

// Lands on the front end with an error code it can show; the cookie is cleared either way.
Response fail_redirect(const GoogleRoutesDeps& deps, const RequestContext& ctx, std::string code) {
  deps.log.warning("google_sign_in_failed", {{"request_id", ctx.request_id}, {"reason", code}});
  auto res = redirect(deps.frontend_url + "/#error=" + form_value(code), ctx.request.version());
  res.set(http::field::set_cookie, set_cookie(deps, "", 0));
  return res;
}

std::map<std::string, std::string> query_of(std::string_view target) {
  std::map<std::string, std::string> fields;
  auto url = boost::urls::parse_origin_form(target);
  if (!url) return fields;
  for (const auto& param : url->params()) {
    // Duplicated parameters are an attack or a bug: treat as missing.
    if (fields.contains(param.key)) {
      fields[param.key].clear();
    } else {
      fields[param.key] = param.value;
    }
  }
  return fields;
}

// "token_exchange_failed: detail" -> "token_exchange_failed" (the OIDC module's error format).
std::string code_of(const Error& error) {
  const auto colon = error.message.find(':');
  std::string code = error.message.substr(0, colon);
  for (char c : code) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return "sign_in_failed";
  }
  return code.empty() ? "sign_in_failed" : code;
}

asio::awaitable<Response> start(const GoogleRoutesDeps& deps, RequestContext& ctx) {
  if (deps.oidc == nullptr) {
    co_return net::error_response(fail(Errc::not_found, "Google sign-in is not configured"),
                                  ctx.request_id, ctx.request.version());
  }
  // Each start writes a row: limit how fast one address can ask.
  const std::string address = ctx.remote_address.to_string();
  if (auto d = deps.limiter.acquire("oauth-start:" + address, deps.start_limit); !d.allowed) {
    co_return net::error_response(
        Error(Errc::rate_limited, "too many sign-in attempts; try again later", d.retry_after),
        ctx.request_id, ctx.request.version());
  }
  auto job = [&deps]() -> Result<auth::PendingAuthorization> {
    auto begun = deps.oidc->start();  // may fetch the discovery document
    if (!begun) return begun.error();
    auth::PendingAuthorization pending{begun->state, core::random_token(32), begun->nonce,
                                       begun->code_verifier};
    if (auto saved = deps.states.save(pending); !saved) return saved.error();
    pending.state = begun->authorization_url;  // hand the URL back in the same struct
    return pending;
  };
  auto pending = co_await deps.workers.run(std::move(job));
  if (!pending) co_return fail_redirect(deps, ctx, "provider_unavailable");
  auto res = redirect(pending->state, ctx.request.version());
  res.set(http::field::set_cookie, set_cookie(deps, pending->browser_binding, kCookieSeconds));
  co_return res;
}

asio::awaitable<Response> callback(const GoogleRoutesDeps& deps, RequestContext& ctx) {
  if (deps.oidc == nullptr) {
    co_return net::error_response(fail(Errc::not_found, "Google sign-in is not configured"),
                                  ctx.request_id, ctx.request.version());
  }
  auto query = query_of(ctx.request.target());
  const std::string binding = cookie_value(ctx.request, cookie_name(deps));
  const std::string state = query["state"];
  if (!query["error"].empty()) {
    // Denied consent (or any provider error): spend the state so it cannot be reused.
    auto job = [&deps, state, binding]() -> Result<bool> {
      (void)deps.states.consume(state, binding);
      return true;
    };
    (void)co_await deps.workers.run(std::move(job));
    const std::string error =
        query["error"] == "access_denied" ? "access_denied" : "provider_error";
    co_return fail_redirect(deps, ctx, error);
  }
  if (state.empty() || query["code"].empty()) co_return fail_redirect(deps, ctx, "invalid_request");

  auto job = [&deps, state, binding, code = query["code"]]() -> Result<auth::SignedIn> {
    auto pending = deps.states.consume(state, binding);
    if (!pending) return pending.error();
    auto identity = deps.oidc->finish(code, pending->code_verifier, pending->nonce);
    if (!identity) return identity.error();
    auth::ExternalIdentity external;
    external.provider = auth::AuthProvider::google;
    external.subject = identity->subject;
    external.issuer = identity->issuer;
    external.email = identity->email;
    external.email_verified = identity->email_verified;
    external.display_name = identity->name;
    return deps.accounts.sign_in_external(external);
  };
  auto signed_in = co_await deps.workers.run(std::move(job));
  if (!signed_in) co_return fail_redirect(deps, ctx, code_of(signed_in.error()));
  deps.log.info("google_sign_in",
                {{"request_id", ctx.request_id}, {"user_id", signed_in->user.id}});
  // The fragment never reaches a server (not ours, not a proxy's logs): the front end reads it.
  const std::string fragment =
      "access_token=" + form_value(signed_in->access_token) +
      "&refresh_token=" + form_value(signed_in->refresh_token) +
      "&token_type=Bearer&expires_in=" + std::to_string(signed_in->expires_in);
  auto res = redirect(deps.frontend_url + "/#" + fragment, ctx.request.version());
  res.set(http::field::set_cookie, set_cookie(deps, "", 0));
  co_return res;
}

}  // namespace

void add_google_routes(net::Router& router, const GoogleRoutesDeps& deps) {
  const GoogleRoutesDeps* d = &deps;
  router.add(http::verb::get, "/api/auth/google",
             [d](RequestContext& ctx) { return start(*d, ctx); });
  router.add(http::verb::get, "/api/auth/google/callback",
             [d](RequestContext& ctx) { return callback(*d, ctx); });
}

}  // namespace parley::api
