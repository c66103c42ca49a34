#pragma once
// The Engine.IO v4 server: handshakes, HTTP long-polling (GET/POST on the path), WebSocket
// (direct or upgraded from polling), session registry. Mounted on the HTTP server's router.

#include <boost/asio/io_context.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/log.hpp"
#include "net/router.hpp"
#include "realtime/engineio/session.hpp"

namespace parley::realtime {

class EngineIoServer {
 public:
  using SessionMap = std::unordered_map<std::string, std::shared_ptr<EngineIoSession>>;

  /// `listener` and `log` must outlive the server.
  /// `origin_allowed(origin, host)` says whether a browser Origin (possibly empty) may open a
  /// session given the request's Host (WebSocket upgrades are checked by the HTTP server;
  /// polling requests here): CORS alone does not stop a foreign page from making the request.
  EngineIoServer(boost::asio::io_context& io, EngineIoOptions options, EngineIoListener& listener,
                 core::Logger& log,
                 std::function<bool(std::string_view, std::string_view)> origin_allowed);
  ~EngineIoServer();

  /// Registers GET and POST `path` (default "/socket.io/") with WebSocket upgrade.
  void add_routes(net::Router& router, const std::string& path = "/socket.io/");

  /// Closes every session ("server shutting down"). Thread-safe.
  void close_all();

  std::size_t session_count() const;
  const EngineIoOptions& options() const { return options_; }

 private:
  struct Routes;
  boost::asio::awaitable<net::Response> handle_polling(net::RequestContext& ctx);
  void handle_upgrade(boost::beast::tcp_stream stream, net::UpgradeRequest upgrade);
  boost::asio::awaitable<void> serve_websocket(std::shared_ptr<EngineIoSession::WebSocket> ws,
                                               std::shared_ptr<EngineIoSession> session,
                                               net::Request request);
  std::shared_ptr<EngineIoSession> create_session();
  std::shared_ptr<EngineIoSession> find(const std::string& sid) const;
  std::string open_packet(const std::string& sid, bool can_upgrade) const;

  boost::asio::io_context& io_;
  EngineIoOptions options_;
  EndOfTurnWriter end_of_turn_;  // the sessions' writes in the single-threaded mode
  core::Logger& log_;
  std::function<bool(std::string_view, std::string_view)> origin_allowed_;
  // Sits between the sessions and the real listener, to forget closed sessions.
  std::unique_ptr<EngineIoListener> registry_listener_;
  EngineIoListener& listener_;
  mutable std::mutex mutex_;
  // Hashed: looked up on every polling request and connection, with tens of thousands of
  // sessions a tree's string comparisons add up.
  SessionMap sessions_;
};

}  // namespace parley::realtime
