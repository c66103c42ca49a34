#pragma once
// HttpClient over libcurl's easy interface. No libcurl type appears in this header, so only the
// composition root and this folder depend on <curl/curl.h>.

#include <chrono>
#include <string>

#include "outbound/http_client.hpp"

namespace parley::outbound {

/// Keeps libcurl's global state initialised while at least one CurlHttpClient exists.
/// libcurl (>= 7.84, built thread-safe) reference-counts curl_global_init/cleanup itself, so
/// every client owning one guard is correct without a global variable of our own.
class CurlGlobalGuard {
 public:
  /// Throws std::runtime_error if libcurl cannot initialise (a start-up failure).
  CurlGlobalGuard();
  ~CurlGlobalGuard();
  CurlGlobalGuard(const CurlGlobalGuard&) = delete;
  CurlGlobalGuard& operator=(const CurlGlobalGuard&) = delete;
};

struct CurlHttpClientOptions {
  /// Upper bound for TCP + TLS connection set-up; the request's own timeout still bounds the
  /// whole exchange, whichever is shorter wins.
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(5)};
  std::string user_agent = "parley";
  /// Upper bound on redirects when a request sets follow_redirects.
  long max_redirects = 5;
};

/// A blocking HttpClient (see HttpClient for the contract). Each send() uses its own easy
/// handle, so concurrent calls share no mutable state: thread-safe. TLS peer and host
/// verification stay on (libcurl's defaults); only http and https are allowed, also after
/// redirects. Request bodies and header values are never logged or put in error messages.
class CurlHttpClient final : public HttpClient {
 public:
  /// Throws std::runtime_error if libcurl cannot initialise or lacks a required feature
  /// (start-up errors).
  explicit CurlHttpClient(CurlHttpClientOptions options = {});

  /// Blocking; thread-safe. Errors as documented on HttpClient::send.
  Result<HttpResponse> send(const HttpRequest& request) override;

 private:
  CurlGlobalGuard global_;
  CurlHttpClientOptions options_;
};

}  // namespace parley::outbound
