#pragma once
// Error replies shared by the route handlers: the single error shape, `WWW-Authenticate` on 401,
// and a log line with the cause for failures whose client-facing message says little.

#include "core/log.hpp"
#include "net/http.hpp"

namespace parley::api {

/// The error response for `error`. With `log`, internal/unavailable failures (whose cause the
/// client never sees) and refusals (403) are logged with the request id.
net::Response fail_with(const Error& error, const net::RequestContext& ctx,
                        core::Logger* log = nullptr);

}  // namespace parley::api
