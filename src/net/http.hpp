#pragma once
// HTTP vocabulary shared by the server, the router and every handler.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace parley::net {

namespace http = boost::beast::http;

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

/// Expected I/O errors are values: `auto [ec, n] = co_await op(..., use_nothrow);`
inline constexpr auto use_nothrow = boost::asio::as_tuple(boost::asio::use_awaitable);

/// Path parameters captured by the router, in pattern order: {"user_id", "42"}.
class PathParams {
 public:
  void add(std::string_view name, std::string value) {
    items_.emplace_back(name, std::move(value));
  }
  /// The captured value, or an empty view when the pattern has no such name.
  std::string_view get(std::string_view name) const {
    for (const auto& [key, value] : items_) {
      if (key == name) return value;
    }
    return {};
  }
  std::size_t size() const { return items_.size(); }

 private:
  std::vector<std::pair<std::string_view, std::string>> items_;
};

/// What a handler sees of one request. Lives on the session's coroutine frame for the duration
/// of the handler call.
struct RequestContext {
  const Request& request;
  std::string_view path;   ///< decoded path without the query
  std::string_view query;  ///< raw query string without '?'
  PathParams params;
  std::string request_id;
  boost::asio::ip::address remote_address;
  std::chrono::steady_clock::time_point deadline;
};

/// The HTTP status for a domain error (the one place where this mapping lives).
http::status status_for(Errc code) noexcept;

/// `{"error":{"code":..., "message":...}}` with the status of `error.code`. Internal errors never
/// show their message: the caller gets a generic text and the request id to quote.
Response error_response(const Error& error, std::string_view request_id, unsigned version = 11);
Response error_response(http::status status, std::string_view code, std::string_view message,
                        unsigned version = 11);

/// A JSON response with Content-Type application/json and a prepared payload.
Response json_response(http::status status, const boost::json::value& body, unsigned version = 11);

}  // namespace parley::net
