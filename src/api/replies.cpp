#include "api/replies.hpp"

namespace parley::api {

namespace http = net::http;

net::Response fail_with(const Error& error, const net::RequestContext& ctx, core::Logger* log) {
  if (log != nullptr && (error.code == Errc::internal || error.code == Errc::forbidden ||
                         error.code == Errc::unavailable)) {
    // The client only sees the request id for internal errors: the cause must be here.
    log->log(error.code == Errc::forbidden ? core::LogLevel::warning : core::LogLevel::error,
             "request_failed",
             {{"request_id", ctx.request_id},
              {"code", to_code(error.code)},
              {"detail", error.message},
              {"path", ctx.path}});
  }
  auto res = net::error_response(error, ctx.request_id, ctx.request.version());
  if (error.code == Errc::unauthorized) res.set(http::field::www_authenticate, "Bearer");
  return res;
}

net::Response ok_json(const net::RequestContext& ctx, const boost::json::object& body,
                      net::http::status status) {
  return net::json_response(status, body, ctx.request.version());
}

}  // namespace parley::api
