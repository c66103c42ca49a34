#pragma once
// Outbound HTTP (to OpenID providers, payment APIs, webhooks...) behind a backend-neutral
// interface, so that callers can be tested against an in-memory fake and the composition root
// alone picks the implementation (curl_http_client.hpp).

#include <chrono>
#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace parley::outbound {

/// An ordered list of header fields. Lookup by name is case-insensitive (RFC 9110 §5.1);
/// duplicates are kept in order, as they arrived.
class HttpHeaders {
 public:
  HttpHeaders() = default;
  HttpHeaders(std::initializer_list<std::pair<std::string, std::string>> fields)
      : fields_(fields) {}

  void add(std::string name, std::string value) {
    fields_.emplace_back(std::move(name), std::move(value));
  }
  /// Removes every field called `name` (case-insensitive), then adds one.
  void set(std::string name, std::string value);
  /// The first field called `name`, compared case-insensitively.
  std::optional<std::string_view> find(std::string_view name) const;
  /// Every field called `name`, in order.
  std::vector<std::string_view> find_all(std::string_view name) const;

  bool empty() const noexcept { return fields_.empty(); }
  std::size_t size() const noexcept { return fields_.size(); }
  auto begin() const noexcept { return fields_.begin(); }
  auto end() const noexcept { return fields_.end(); }
  void clear() noexcept { fields_.clear(); }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

/// ASCII case-insensitive comparison, for header names and tokens.
bool iequals(std::string_view a, std::string_view b) noexcept;

struct HttpRequest {
  std::string method = "GET";
  /// Absolute http:// or https:// URL. Other schemes are refused with Errc::invalid_request.
  std::string url;
  HttpHeaders headers;
  std::string body;
  /// Deadline for the whole exchange (connect, send, receive). Must be positive: every wait in
  /// Parley has a deadline.
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
  /// The response body is capped: a larger body fails with Errc::payload_too_large instead of
  /// filling memory (providers are trusted, the network between us is not).
  std::size_t max_response_bytes = 1024 * 1024;
  /// Redirects are returned as 3xx responses unless asked for: following them silently would let
  /// an upstream steer us to another host (SSRF) and would replay a POST body.
  bool follow_redirects = false;
};

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;
  std::string body;
};

/// Sends one HTTP request and waits for the whole response.
///
/// BLOCKING by design: implementations wait on the network for up to `request.timeout`. Call
/// them from the worker pool (core/worker_pool.hpp), never from a network thread or a strand.
class HttpClient {
 public:
  virtual ~HttpClient() = default;

  /// Sends `request` and returns the response. An HTTP error status (4xx, 5xx) is a response,
  /// not an error: the caller decides what it means.
  ///
  /// Errors:
  /// - Errc::invalid_request: bad URL, scheme other than http/https, CR/LF in a header,
  ///   non-positive timeout;
  /// - Errc::timeout: `request.timeout` passed;
  /// - Errc::unavailable: DNS failure, connection refused or reset, TLS failure;
  /// - Errc::payload_too_large: the body exceeds `request.max_response_bytes`;
  /// - Errc::internal: the implementation failed unexpectedly.
  ///
  /// Thread-safety: safe to call concurrently from any number of threads.
  virtual Result<HttpResponse> send(const HttpRequest& request) = 0;
};

/// `application/x-www-form-urlencoded` / RFC 3986 percent-encoding: every byte outside
/// ALPHA / DIGIT / "-" / "." / "_" / "~" becomes %XX (spaces too, never '+', which some servers
/// read literally).
std::string percent_encode(std::string_view text);

/// Encodes name/value pairs as an `application/x-www-form-urlencoded` body or query string.
std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace parley::outbound
