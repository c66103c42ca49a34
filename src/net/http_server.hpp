#pragma once
// The HTTP/1.1 server: one coroutine per connection on its own strand, keep-alive, header and
// body limits decided per route before the body is read, read/idle/handler deadlines, CORS,
// request ids, an access log line per request, and graceful shutdown.

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>

#include "core/log.hpp"
#include "net/cors.hpp"
#include "net/router.hpp"
#include "net/static_files.hpp"

namespace parley::net {

/// Told about every request the server reads (metrics). Called on the connection's strand (any
/// network thread): implementations must be thread-safe, cheap and must not block or throw.
class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  /// A request's header was read. Balanced by exactly one request_ended().
  virtual void request_started() noexcept = 0;
  /// The response was written (or the connection failed while reading the body).
  /// `route`: the router's match (nullptr when no route matched, e.g. static files, 404, 405,
  /// CORS preflights); `status` 0 when no response was written.
  virtual void request_ended(const Router::Route* route, http::verb method, unsigned status,
                             std::chrono::steady_clock::duration elapsed) noexcept = 0;
};

struct ServerOptions {
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;        ///< default for routes without their own limit
  std::chrono::milliseconds read_timeout{15'000};  ///< to receive a whole request
  std::chrono::milliseconds idle_timeout{60'000};  ///< between keep-alive requests
  std::chrono::milliseconds request_timeout{30'000};  ///< for a handler to produce a response
  std::size_t max_connections = 20'000;
  bool strict_transport_security = false;  ///< send HSTS (when served over https)
  /// One thread runs the io_context: connections then need no strand (a strand serializes
  /// what a single thread already does in order, at a cost on every handler).
  bool single_threaded = false;
  /// Optional; must outlive the server and its connections.
  RequestObserver* observer = nullptr;
};

class HttpServer {
 public:
  /// `router`, `cors`, `static_files` (may be null) and `log` must outlive the server and every
  /// connection it started, i.e. until the io_context has stopped running.
  HttpServer(boost::asio::io_context& io, ServerOptions options, const Router& router,
             const CorsPolicy& cors, const StaticFiles* static_files, core::Logger& log);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Binds and listens; port 0 picks a free port. Errors: Errc::unavailable (address in use,
  /// permission denied), with the system's reason.
  Result<boost::asio::ip::tcp::endpoint> listen(const boost::asio::ip::address& address,
                                                std::uint16_t port);

  /// Starts accepting on the io_context. Call once, after listen().
  void start();

  /// Graceful shutdown; thread-safe, idempotent. Stops accepting, closes idle keep-alive
  /// connections, lets requests in flight finish (their responses carry Connection: close),
  /// and after `grace` closes whatever is left. `done` runs once, on the io_context, when no
  /// connection remains.
  void shutdown(std::chrono::milliseconds grace, std::function<void()> done);

  std::size_t connection_count() const;

  struct Registry;  // connection bookkeeping shared with the connections themselves

 private:
  boost::asio::awaitable<void> accept_loop();

  boost::asio::io_context& io_;
  ServerOptions options_;
  const Router& router_;
  const CorsPolicy& cors_;
  const StaticFiles* static_files_;
  core::Logger& log_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::optional<bool> nodelay_inherited_;  // learnt from the first accepted connection
  std::shared_ptr<Registry> registry_;
};

}  // namespace parley::net
