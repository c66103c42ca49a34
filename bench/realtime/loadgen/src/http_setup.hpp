#pragma once
// The REST setup before a measured run (guests, rooms, memberships): plain HTTP/1.1 over a few
// keep-alive connections, with bounded concurrency and a deadline per request.

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/verb.hpp>
#include <chrono>
#include <string>
#include <vector>

namespace parley::loadgen {

struct HttpRequest {
  boost::beast::http::verb method = boost::beast::http::verb::post;
  std::string target;
  std::string body;    ///< JSON
  std::string bearer;  ///< access token, or empty
};

struct HttpResponse {
  unsigned status = 0;  ///< 0: no response (see error)
  std::string body;
  std::string error;
};

/// Sends every request over at most `concurrency` keep-alive connections and returns the
/// responses in request order. A request whose connection broke is retried once on a new one.
std::vector<HttpResponse> run_http(const boost::asio::ip::tcp::endpoint& server,
                                   const std::vector<HttpRequest>& requests,
                                   std::size_t concurrency, std::chrono::seconds timeout);

}  // namespace parley::loadgen
