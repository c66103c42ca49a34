#include "api/misc.hpp"

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <cctype>

#include "app/version.hpp"

namespace parley::api {

namespace asio = boost::asio;
namespace http = net::http;

void add_misc_routes(net::Router& router, const core::Config& config) {
  // Built once: the configuration does not change while the process runs.
  const boost::json::object features{
      {"google_sign_in", !config.google_client_id.empty()},
      {"payments", !config.stripe_secret_key.empty()},
      {"cloud_speech", !config.openai_api_key.empty()},
      {"cloud_voices", !config.elevenlabs_api_key.empty()},
  };
  boost::json::object body{{"name", "parley"},
                           {"version", app::kVersion},
                           {"frontend_url", config.frontend_url},
                           {"backend_url", config.backend_url},
                           {"features", features}};
  if (!config.stripe_publishable_key.empty()) {
    body["stripe_publishable_key"] = config.stripe_publishable_key;
  }
  auto serialized = std::make_shared<const std::string>(boost::json::serialize(body));
  router.add(http::verb::get, "/api/config",
             [serialized](net::RequestContext& ctx) -> asio::awaitable<net::Response> {
               net::Response res{http::status::ok, ctx.request.version()};
               res.set(http::field::content_type, "application/json");
               res.body() = *serialized;
               res.prepare_payload();
               co_return res;
             });
}

namespace {

bool is_checkout_session_id(std::string_view id) {
  if (id.size() < 4 || id.size() > 255 || !id.starts_with("cs_")) return false;
  return std::all_of(id.begin(), id.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '_'; });
}

net::Response redirect_to(std::string location, unsigned version) {
  net::Response res{http::status::found, version};
  res.set(http::field::location, std::move(location));
  res.set(http::field::cache_control, "no-store");
  res.prepare_payload();
  return res;
}

}  // namespace

void add_checkout_return_routes(net::Router& router) {
  router.add(http::verb::get, "/payment/success",
             [](net::RequestContext& ctx) -> asio::awaitable<net::Response> {
               std::string location = "/#/plan";
               // Only Stripe's shape (letters, digits, underscores) is taken, so the raw
               // query needs no percent-decoding.
               std::string_view rest = ctx.query;
               while (!rest.empty()) {
                 const auto amp = rest.find('&');
                 const std::string_view pair = rest.substr(0, amp);
                 rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
                 constexpr std::string_view kKey = "session_id=";
                 if (pair.starts_with(kKey) && is_checkout_session_id(pair.substr(kKey.size()))) {
                   location += "?session_id=";
                   location += pair.substr(kKey.size());
                   break;
                 }
               }
               co_return redirect_to(std::move(location), ctx.request.version());
             });
  router.add(http::verb::get, "/payment/cancel",
             [](net::RequestContext& ctx) -> asio::awaitable<net::Response> {
               co_return redirect_to("/#/plan?checkout=cancelled", ctx.request.version());
             });
}

}  // namespace parley::api
