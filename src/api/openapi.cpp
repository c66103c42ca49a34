#include "api/openapi.hpp"

namespace parley::api {

namespace asio = boost::asio;
namespace http = net::http;

void add_openapi_route(net::Router& router) {
  router.add(http::verb::get, "/api/openapi.json",
             [](net::RequestContext& ctx) -> asio::awaitable<net::Response> {
               net::Response res{http::status::ok, ctx.request.version()};
               res.set(http::field::content_type, "application/json");
               res.set(http::field::cache_control, "public, max-age=300");
               res.body() = std::string(openapi_document());
               res.prepare_payload();
               co_return res;
             });
}

}  // namespace parley::api
