#pragma once
// A blocking HTTP/1.1 client for tests: every call opens a real TCP connection to 127.0.0.1.

#include <boost/beast/http.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace parley::testing {

namespace http = boost::beast::http;

using Headers = std::vector<std::pair<std::string, std::string>>;
using Reply = http::response<http::string_body>;

/// Sends one request and reads the reply (throws on connection errors: a test failure).
Reply request(std::uint16_t port, http::verb method, const std::string& target,
              const std::string& body = {}, const Headers& headers = {});

/// The reply's body parsed as JSON (throws if it is not JSON).
boost::json::value json_of(const Reply& reply);

/// Writes raw bytes and returns whatever comes back until the server closes the connection
/// or `timeout` passes.
std::string raw_exchange(std::uint16_t port, const std::string& bytes,
                         std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace parley::testing
