#include "net/cors.hpp"

#include <algorithm>
#include <cctype>

namespace parley::net {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Request headers a browser may send cross-origin beyond the CORS-safelisted ones.
constexpr std::string_view kAllowedHeaders[] = {"authorization", "content-type", "x-request-id",
                                                "accept-language"};

}  // namespace

bool CorsPolicy::allows(std::string_view origin) const {
  if (origin.empty()) return false;
  if (any_origin_) return true;
  if (origin == "null") return false;
  return std::any_of(allowed_.begin(), allowed_.end(),
                     [&](const std::string& allowed) { return iequals(allowed, origin); });
}

bool CorsPolicy::allows_session(std::string_view origin, std::string_view host) const {
  if (origin.empty()) return true;
  std::string_view authority = origin;
  for (std::string_view scheme : {"http://", "https://"}) {
    if (authority.size() > scheme.size() && iequals(authority.substr(0, scheme.size()), scheme)) {
      authority.remove_prefix(scheme.size());
      // Same host and port: the page came from here. (Scheme aside: behind a TLS proxy the
      // Host is the same while Parley itself sees plain HTTP.)
      if (!host.empty() && iequals(authority, host)) return true;
      break;
    }
  }
  return allows(origin);
}

bool CorsPolicy::is_preflight(const Request& request) {
  return request.method() == http::verb::options && !request[http::field::origin].empty() &&
         !request[http::field::access_control_request_method].empty();
}

Response CorsPolicy::preflight(const Request& request, std::string_view allow) const {
  const auto origin = request[http::field::origin];
  if (!allows(origin)) {
    auto res = error_response(http::status::forbidden, "forbidden",
                              "origin is not allowed to call this server", request.version());
    res.set(http::field::vary, "Origin");
    return res;
  }
  if (allow.empty()) {
    auto res =
        error_response(http::status::not_found, "not_found", "no such resource", request.version());
    decorate(request, res);
    return res;
  }
  const auto method = request[http::field::access_control_request_method];
  if (allow.find(method) == std::string_view::npos) {
    auto res = error_response(http::status::method_not_allowed, "method_not_allowed",
                              "method is not allowed on this resource", request.version());
    res.set(http::field::allow, allow);
    decorate(request, res);
    return res;
  }
  // Echo back only the requested headers we accept, so the browser sees a precise answer.
  std::string headers;
  std::string_view requested = request[http::field::access_control_request_headers];
  while (!requested.empty()) {
    const auto comma = requested.find(',');
    std::string_view item = requested.substr(0, comma);
    requested = comma == std::string_view::npos ? std::string_view{} : requested.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    for (auto allowed : kAllowedHeaders) {
      if (iequals(item, allowed)) {
        if (!headers.empty()) headers += ", ";
        headers += allowed;
      }
    }
  }
  Response res{http::status::no_content, request.version()};
  res.set(http::field::access_control_allow_methods, allow);
  if (!headers.empty()) res.set(http::field::access_control_allow_headers, headers);
  res.set(http::field::access_control_max_age, "600");
  decorate(request, res);
  res.prepare_payload();
  return res;
}

}  // namespace parley::net
