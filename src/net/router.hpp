#pragma once
// Maps (method, path) to a handler. Patterns are literal segments and `{name}` captures, e.g.
// "/api/user-chatrooms/{user_id}". Routes are registered at start-up, then only read, so lookups
// need no lock.

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "net/http.hpp"

namespace parley::net {

using Handler = std::function<boost::asio::awaitable<Response>(RequestContext&)>;

/// A request that asked to switch protocols (WebSocket), handed over with its socket.
struct UpgradeRequest {
  Request request;
  PathParams params;
  std::string request_id;
  boost::asio::ip::address remote_address;
};

/// Takes ownership of the connection (the stream's executor is the connection's strand). Called
/// on that strand; must not block.
using UpgradeHandler = std::function<void(boost::beast::tcp_stream, UpgradeRequest)>;

struct RouteOptions {
  /// Largest request body this route accepts; nullopt means the server's default limit.
  std::optional<std::size_t> max_body_bytes{};
  /// Refuse with 401 before reading the body when no `Authorization: Bearer` header is present,
  /// so anonymous clients cannot make the server buffer large bodies. (The handler still
  /// verifies the token.)
  bool requires_bearer = false;
  /// When set, a WebSocket upgrade request on this route is handed to it (after the Origin is
  /// checked against the CORS allowlist) instead of calling the handler.
  UpgradeHandler on_upgrade{};
  /// Cancel the handler (terminal cancellation, seen through this_coro::cancellation_state)
  /// when the client closes its connection while waiting: for long-held requests such as
  /// Engine.IO's long-polling GET, whose session must learn that its client left.
  bool cancel_when_client_leaves = false;
};

class Router {
 public:
  struct Route {
    http::verb method;
    std::string pattern;
    std::vector<std::string> segments;  // "{name}" marks a capture
    Handler handler;
    RouteOptions options;
  };

  struct Match {
    const Route* route;
    PathParams params;
  };
  struct MethodNotAllowed {
    std::string allow;  ///< e.g. "GET, HEAD, OPTIONS"
  };
  struct NotFound {};
  using Lookup = std::variant<Match, MethodNotAllowed, NotFound>;

  /// Registers a route. Throws std::invalid_argument for a malformed pattern or a duplicate:
  /// both are programmer errors found at start-up.
  void add(http::verb method, std::string pattern, Handler handler, RouteOptions options = {});

  /// HEAD falls back to the GET route of the same path.
  Lookup find(http::verb method, std::string_view path) const;

  /// Methods registered for a path ("GET, HEAD, POST, OPTIONS"), empty when none.
  std::string allowed_methods(std::string_view path) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  static bool matches(const Route& route, const std::vector<std::string_view>& parts,
                      PathParams* params);
  std::vector<Route> routes_;
};

}  // namespace parley::net
