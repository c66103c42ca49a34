#include "api/misc.hpp"

#include <boost/json/serialize.hpp>

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

}  // namespace parley::api
