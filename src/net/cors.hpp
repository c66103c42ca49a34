#pragma once
// CORS with an exact allowlist of origins (FRONTEND_URL and PARLEY_CORS_ORIGINS). An origin not
// on the list, including the literal "null", never gets an Access-Control-Allow-Origin header.

#include <string>
#include <string_view>
#include <vector>

#include "net/http.hpp"

namespace parley::net {

class CorsPolicy {
 public:
  explicit CorsPolicy(std::vector<std::string> allowed_origins)
      : allowed_(std::move(allowed_origins)) {}
  /// Every origin allowed: only for the protocol-conformance test mode, never in production.
  static CorsPolicy any_origin() {
    CorsPolicy policy({});
    policy.any_origin_ = true;
    return policy;
  }

  bool allows(std::string_view origin) const;

  /// Whether a browser page with this Origin may open a real-time session on this server: no
  /// Origin (native clients), the server's own origin (the Origin's host and port are the
  /// request's Host: the page Parley serves itself, whatever FRONTEND_URL says), or an allowed
  /// origin.
  bool allows_session(std::string_view origin, std::string_view host) const;

  /// True for an OPTIONS request that carries Origin and Access-Control-Request-Method.
  static bool is_preflight(const Request& request);

  /// The reply to a preflight: 204 with the allowed methods and headers when the origin is
  /// allowed and the path has routes (`allow` non-empty), else 403 in the error shape.
  Response preflight(const Request& request, std::string_view allow) const;

  /// Adds the CORS headers of an actual (non-preflight) response.
  template <class Body>
  void decorate(const http::request_header<>& request, http::response<Body>& response) const {
    const auto origin = request[http::field::origin];
    if (origin.empty()) return;
    response.set(http::field::vary, "Origin");
    if (!allows(origin)) return;
    response.set(http::field::access_control_allow_origin, origin);
    response.set(http::field::access_control_allow_credentials, "true");
    response.set(http::field::access_control_expose_headers, "X-Request-Id, Retry-After");
  }

 private:
  std::vector<std::string> allowed_;
  bool any_origin_ = false;
};

}  // namespace parley::net
