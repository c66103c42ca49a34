#pragma once
// Error replies shared by the route handlers: the single error shape, `WWW-Authenticate` on 401,
// and a log line with the cause for failures whose client-facing message says little.

#include <boost/json/object.hpp>

#include "core/log.hpp"
#include "net/http.hpp"

namespace parley::api {

/// The error response for `error`. With `log`, internal/unavailable failures (whose cause the
/// client never sees) and refusals (403) are logged with the request id.
net::Response fail_with(const Error& error, const net::RequestContext& ctx,
                        core::Logger* log = nullptr);

/// A JSON reply (200 unless `status` says otherwise) in the request's HTTP version.
net::Response ok_json(const net::RequestContext& ctx, const boost::json::object& body,
                      net::http::status status = net::http::status::ok);

}  // namespace parley::api
