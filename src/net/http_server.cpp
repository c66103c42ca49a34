#include "net/http_server.hpp"

#include <sys/socket.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/url/parse.hpp>
#include <cerrno>
#include <mutex>
#include <unordered_set>

#include "core/random.hpp"

namespace parley::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

/// One accepted connection. Owned by its coroutine frame (through shared_ptr) and listed in the
/// registry so that shutdown can reach it.
struct Connection {
  Connection(tcp::socket socket, asio::ip::address peer)
      : strand(socket.get_executor()), stream(std::move(socket)), remote(std::move(peer)) {}
  // Kept apart from the stream: after a WebSocket upgrade the stream is moved away, but
  // shutdown may still post to the strand.
  asio::any_io_executor strand;
  beast::tcp_stream stream;
  asio::ip::address remote;  // the peer, as accept() gave it
  bool in_request = false;   // touched only on the connection's strand
  bool closing = false;      // idem
  bool upgraded = false;     // idem: the stream now belongs to an upgrade handler
};

bool valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (unsigned char c : id) {
    if (!(std::isalnum(c) || c == '-' || c == '_' || c == '.')) return false;
  }
  return true;
}

template <class Body>
void add_common_headers(http::response<Body>& res, std::string_view request_id, bool hsts) {
  res.set("X-Request-Id", request_id);
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Referrer-Policy", "no-referrer");
  res.set("X-Frame-Options", "DENY");
  if (hsts) res.set(http::field::strict_transport_security, "max-age=31536000");
}

}  // namespace

struct HttpServer::Registry {
  mutable std::mutex mutex;
  std::unordered_set<std::shared_ptr<Connection>> connections;
  bool draining = false;
  std::function<void()> on_drained;
  asio::any_io_executor executor;

  void add(const std::shared_ptr<Connection>& c) {
    std::lock_guard lock(mutex);
    connections.insert(c);
  }
  void remove(const std::shared_ptr<Connection>& c) {
    std::function<void()> done;
    {
      std::lock_guard lock(mutex);
      connections.erase(c);
      if (draining && connections.empty() && on_drained) done = std::exchange(on_drained, {});
    }
    if (done) asio::post(executor, std::move(done));
  }
  bool is_draining() const {
    std::lock_guard lock(mutex);
    return draining;
  }
};

namespace {

/// The per-connection request loop. Everything it uses outlives it (see HttpServer's contract),
/// except the connection, which it co-owns.
class Session {
 public:
  Session(std::shared_ptr<Connection> connection, std::shared_ptr<HttpServer::Registry> registry,
          const ServerOptions& options, const Router& router, const CorsPolicy& cors,
          const StaticFiles* static_files, core::Logger& log)
      : conn_(std::move(connection)),
        registry_(std::move(registry)),
        options_(options),
        router_(router),
        cors_(cors),
        static_files_(static_files),
        log_(log) {}

  asio::awaitable<void> run() {
    beast::error_code ec;
    remote_ = conn_->remote;
    bool first = true;
    for (;;) {
      const bool keep_going = co_await serve_one(first);
      first = false;
      if (!keep_going) break;
    }
    if (!conn_->upgraded) {
      conn_->stream.socket().shutdown(tcp::socket::shutdown_send, ec);
      conn_->stream.close();
      registry_->remove(conn_);
    }
  }

 private:
  // Reads, handles and answers one request; false when the connection must close.
  asio::awaitable<bool> serve_one(bool first) {
    auto& stream = conn_->stream;
    http::request_parser<http::empty_body> header_parser;
    header_parser.header_limit(static_cast<std::uint32_t>(options_.max_header_bytes));
    // The body limit is the route's, checked once the route is known (413 from Content-Length
    // below); Beast's own default (1 MB) would refuse larger declared bodies as malformed.
    header_parser.body_limit(boost::none);
    stream.expires_after(first ? options_.read_timeout : options_.idle_timeout);
    auto [ec, n] = co_await http::async_read_header(stream, buffer_, header_parser, use_nothrow);
    (void)n;
    if (ec) {
      if (ec == http::error::header_limit) {
        co_await send_simple(error_response(http::status::request_header_fields_too_large,
                                            "header_too_large", "request headers are too large"),
                             core::new_request_id(), false);
      } else if (ec != http::error::end_of_stream && ec != beast::error::timeout &&
                 ec != asio::error::operation_aborted && ec != asio::error::connection_reset &&
                 ec != asio::error::eof && ec != asio::error::bad_descriptor) {
        co_await send_simple(
            error_response(http::status::bad_request, "invalid_request", "malformed HTTP request"),
            core::new_request_id(), false);
      }
      co_return false;
    }
    conn_->in_request = true;
    const auto started = std::chrono::steady_clock::now();
    const auto& header = header_parser.get();
    // Metrics: one request_started() here, one request_ended() in finish() or on the early
    // returns below that write no response.
    observed_method_ = header.method();
    observed_route_ = nullptr;
    if (options_.observer != nullptr) options_.observer->request_started();
    std::string request_id(header["X-Request-Id"]);
    if (!valid_request_id(request_id)) request_id = core::new_request_id();

    auto target = boost::urls::parse_origin_form(header.target());
    std::string path;
    if (target) path = target->path();
    // A NUL byte in a decoded path is never legitimate and confuses every layer below.
    if (!target || path.find('\0') != std::string::npos) {
      co_return co_await finish(error_response(http::status::bad_request, "invalid_request",
                                               "malformed request target", header.version()),
                                request_id, header_parser.get(), path, started, false);
    }

    // Route first, so the body limit is the route's own, decided before any body byte is read.
    const bool preflight = header.method() == http::verb::options &&
                           !header[http::field::origin].empty() &&
                           !header[http::field::access_control_request_method].empty();
    auto lookup = router_.find(header.method(), path);
    std::size_t body_limit = options_.max_body_bytes;
    if (auto* match = std::get_if<Router::Match>(&lookup)) {
      observed_route_ = match->route;
      if (match->route->options.max_body_bytes) body_limit = *match->route->options.max_body_bytes;
    }
    if (auto* match = std::get_if<Router::Match>(&lookup);
        match != nullptr && match->route->options.requires_bearer && !preflight) {
      const std::string_view authorization = header[http::field::authorization];
      if (authorization.size() <= 7 ||
          !boost::beast::iequals(authorization.substr(0, 7), "Bearer ")) {
        auto res = error_response(http::status::unauthorized, "unauthorized",
                                  "sign in first: missing bearer token", header.version());
        res.set(http::field::www_authenticate, "Bearer");
        co_return co_await finish(std::move(res), request_id, header, path, started, false);
      }
    }
    if (header_parser.content_length() && *header_parser.content_length() > body_limit) {
      co_return co_await finish(
          error_response(http::status::payload_too_large, "payload_too_large",
                         "request body exceeds " + std::to_string(body_limit) + " bytes",
                         header.version()),
          request_id, header, path, started, false);
    }
    if (beast::iequals(header[http::field::expect], "100-continue")) {
      http::response<http::empty_body> cont{http::status::continue_, header.version()};
      stream.expires_after(options_.read_timeout);
      auto [wec, wn] = co_await http::async_write(stream, cont, use_nothrow);
      (void)wn;
      if (wec) {
        observe_end(0, started);
        co_return false;
      }
    }

    http::request_parser<http::string_body> parser(std::move(header_parser));
    parser.body_limit(body_limit);
    stream.expires_after(options_.read_timeout);
    auto [bec, bn] = co_await http::async_read(stream, buffer_, parser, use_nothrow);
    (void)bn;
    if (bec) {
      if (bec == http::error::body_limit) {
        co_return co_await finish(
            error_response(http::status::payload_too_large, "payload_too_large",
                           "request body exceeds " + std::to_string(body_limit) + " bytes"),
            request_id, parser.get(), path, started, false);
      }
      if (bec != beast::error::timeout && bec != http::error::end_of_stream &&
          bec != asio::error::connection_reset && bec != asio::error::eof &&
          bec != asio::error::operation_aborted) {
        co_return co_await finish(error_response(http::status::bad_request, "invalid_request",
                                                 "malformed HTTP request body"),
                                  request_id, parser.get(), path, started, false);
      }
      observe_end(0, started);
      co_return false;
    }
    stream.expires_never();
    Request request = parser.release();
    const bool keep_alive = request.keep_alive();

    if (preflight) {
      co_return co_await finish(cors_.preflight(request, router_.allowed_methods(path)), request_id,
                                request, path, started, keep_alive);
    }
    if (auto* match = std::get_if<Router::Match>(&lookup);
        match != nullptr && match->route->options.on_upgrade &&
        boost::beast::websocket::is_upgrade(request)) {
      // CORS does not cover WebSocket: a browser page from a foreign origin could otherwise
      // open an authenticated socket. No Origin (native clients) is fine.
      if (!cors_.allows_session(request[http::field::origin], request[http::field::host])) {
        co_return co_await finish(error_response(http::status::forbidden, "forbidden",
                                                 "origin is not allowed", request.version()),
                                  request_id, request, path, started, false);
      }
      if (log_.enabled(core::LogLevel::info)) {  // fields cost on every connect otherwise
        log_.info("http_upgrade",
                  {{"request_id", request_id}, {"path", path}, {"remote", remote_.to_string()}});
      }
      // From here the upgrade handler owns the socket; this server forgets the connection.
      conn_->upgraded = true;
      registry_->remove(conn_);
      observe_end(101, started);
      UpgradeRequest upgrade{std::move(request), std::move(match->params), request_id, remote_};
      match->route->options.on_upgrade(std::move(conn_->stream), std::move(upgrade));
      co_return false;
    }
    if (auto* match = std::get_if<Router::Match>(&lookup)) {
      RequestContext ctx{request,
                         path,
                         target->encoded_query(),
                         std::move(match->params),
                         request_id,
                         remote_,
                         std::chrono::steady_clock::now() + options_.request_timeout};
      Response response = co_await call_handler(*match->route, ctx);
      co_return co_await finish(std::move(response), request_id, request, path, started,
                                keep_alive);
    }
    if (auto* not_allowed = std::get_if<Router::MethodNotAllowed>(&lookup)) {
      auto res =
          error_response(http::status::method_not_allowed, "method_not_allowed",
                         "method " + std::string(request.method_string()) + " is not allowed here",
                         request.version());
      res.set(http::field::allow, not_allowed->allow);
      co_return co_await finish(std::move(res), request_id, request, path, started, keep_alive);
    }
    const bool is_read =
        request.method() == http::verb::get || request.method() == http::verb::head;
    if (is_read && static_files_ != nullptr && !path.starts_with("/api/")) {
      auto file = static_files_->serve(request);
      if (file) {
        if (auto* body = std::get_if<FileResponse>(&*file)) {
          co_return co_await finish(std::move(*body), request_id, request, path, started,
                                    keep_alive);
        }
        co_return co_await finish(std::move(std::get<Response>(*file)), request_id, request, path,
                                  started, keep_alive);
      }
    }
    co_return co_await finish(
        error_response(http::status::not_found, "not_found", "no such resource", request.version()),
        request_id, request, path, started, keep_alive);
  }

  // Runs the handler under the request deadline. Exceptions become a 500 with the request id
  // inside guarded(), so that the deadline race sees a result rather than a failed branch
  // (awaitable `||` waits for the first *successful* branch).
  asio::awaitable<Response> call_handler(const Router::Route& route, RequestContext& ctx) {
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer deadline(co_await asio::this_coro::executor);
    deadline.expires_at(ctx.deadline);
    if (route.options.cancel_when_client_leaves) {
      auto outcome =
          co_await (guarded(route, ctx) || deadline.async_wait(use_nothrow) || client_left());
      if (outcome.index() == 0) co_return std::move(std::get<0>(outcome));
      if (outcome.index() == 2) {
        // Nobody will read the answer; writing it fails and ends the connection.
        co_return error_response(fail(Errc::unavailable, "client left"), ctx.request_id,
                                 ctx.request.version());
      }
    } else {
      auto outcome = co_await (guarded(route, ctx) || deadline.async_wait(use_nothrow));
      if (outcome.index() == 0) co_return std::move(std::get<0>(outcome));
    }
    log_.warning("http_handler_timeout",
                 {{"request_id", ctx.request_id}, {"route", route.pattern}});
    co_return error_response(fail(Errc::timeout, "the request took too long; try again"),
                             ctx.request_id, ctx.request.version());
  }

  // Completes when the client closes (or resets) its connection while a handler runs; returns
  // only through cancellation otherwise. A readable socket with data is a pipelined request,
  // not a departure.
  asio::awaitable<void> client_left() {
    auto& socket = conn_->stream.socket();
    for (;;) {
      auto [ec] = co_await socket.async_wait(tcp::socket::wait_read, use_nothrow);
      if (ec) co_return;  // cancelled (the handler finished), or the socket failed
      // The peek must never block a network thread: the reactor may report readiness whose
      // bytes a speculative read already took (edge-triggered epoll), so wait again then.
      char byte = 0;
      const auto n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
      if (n <= 0) co_return;  // orderly close or reset: the client is gone
      asio::steady_timer forever(co_await asio::this_coro::executor,
                                 asio::steady_timer::time_point::max());
      co_await forever.async_wait(use_nothrow);
      co_return;
    }
  }

  asio::awaitable<Response> guarded(const Router::Route& route, RequestContext& ctx) {
    try {
      co_return co_await route.handler(ctx);
    } catch (const std::exception& e) {
      log_.error("http_handler_exception",
                 {{"request_id", ctx.request_id}, {"route", route.pattern}, {"what", e.what()}});
    }
    co_return error_response(fail(Errc::internal, ""), ctx.request_id, ctx.request.version());
  }

  // Decorates, writes and logs a response; returns whether to keep the connection.
  template <class Body, class Fields>
  asio::awaitable<bool> finish(http::response<Body> res, const std::string& request_id,
                               const http::request_header<Fields>& request, std::string_view path,
                               std::chrono::steady_clock::time_point started, bool keep_alive) {
    add_common_headers(res, request_id, options_.strict_transport_security);
    if (path.starts_with("/api/") && res.count(http::field::cache_control) == 0) {
      res.set(http::field::cache_control, "no-store");
    }
    cors_.decorate(request, res);
    keep_alive = keep_alive && !registry_->is_draining();
    res.keep_alive(keep_alive);
    const auto status = res.result_int();
    std::uint64_t bytes = 0;
    if (auto length = res.payload_size()) bytes = *length;

    // Counted when the answer is decided, before it is written: a client that has read it and
    // then scrapes /metrics finds it counted. (The duration so excludes the write.)
    observe_end(status, started);

    bool ok = true;
    auto& stream = conn_->stream;
    stream.expires_after(options_.read_timeout);
    if (request.method() == http::verb::head) {
      http::response<http::empty_body> head{res.base()};
      head.keep_alive(keep_alive);
      http::response_serializer<http::empty_body> sr{head};
      sr.split(true);
      auto [ec, n] = co_await http::async_write_header(stream, sr, use_nothrow);
      (void)n;
      ok = !ec;
    } else {
      auto [ec, n] = co_await http::async_write(stream, res, use_nothrow);
      (void)n;
      ok = !ec;
    }
    stream.expires_never();
    conn_->in_request = false;

    const auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - started);
    if (log_.enabled(core::LogLevel::info)) {
      log_.info("http_request", {{"request_id", request_id},
                                 {"method", request.method_string()},
                                 {"path", path},
                                 {"status", status},
                                 {"bytes", bytes},
                                 {"duration_us", elapsed.count()},
                                 {"remote", remote_.to_string()}});
    }
    co_return ok&& keep_alive && !conn_->closing;
  }

  void observe_end(unsigned status, std::chrono::steady_clock::time_point started) noexcept {
    if (options_.observer == nullptr) return;
    options_.observer->request_ended(observed_route_, observed_method_, status,
                                     std::chrono::steady_clock::now() - started);
  }

  // For failures before a request exists (bad syntax, oversized header).
  asio::awaitable<void> send_simple(Response res, const std::string& request_id, bool) {
    add_common_headers(res, request_id, options_.strict_transport_security);
    res.keep_alive(false);
    conn_->stream.expires_after(options_.read_timeout);
    auto [ec, n] = co_await http::async_write(conn_->stream, res, use_nothrow);
    (void)ec;
    (void)n;
    log_.info("http_request", {{"request_id", request_id},
                               {"status", res.result_int()},
                               {"remote", remote_.to_string()}});
  }

  std::shared_ptr<Connection> conn_;
  std::shared_ptr<HttpServer::Registry> registry_;
  const ServerOptions& options_;
  const Router& router_;
  const CorsPolicy& cors_;
  const StaticFiles* static_files_;
  core::Logger& log_;
  beast::flat_buffer buffer_;
  asio::ip::address remote_;
  // The request being served, for the observer (this connection's strand only).
  const Router::Route* observed_route_ = nullptr;
  http::verb observed_method_ = http::verb::unknown;
};

asio::awaitable<void> run_session(std::unique_ptr<Session> session) { co_await session->run(); }

}  // namespace

HttpServer::HttpServer(asio::io_context& io, ServerOptions options, const Router& router,
                       const CorsPolicy& cors, const StaticFiles* static_files, core::Logger& log)
    : io_(io),
      options_(options),
      router_(router),
      cors_(cors),
      static_files_(static_files),
      log_(log),
      acceptor_(asio::make_strand(io)),
      registry_(std::make_shared<Registry>()) {
  registry_->executor = io.get_executor();
}

HttpServer::~HttpServer() = default;

Result<tcp::endpoint> HttpServer::listen(const asio::ip::address& address, std::uint16_t port) {
  const tcp::endpoint endpoint(address, port);
  beast::error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  // Linux gives accepted sockets the listener's TCP_NODELAY: no setsockopt per connection
  // (accept_loop checks the first connection and sets it per socket where it is not inherited).
  if (!ec) {
    beast::error_code ignored;  // best effort: accept_loop sets it per socket if need be
    acceptor_.set_option(tcp::no_delay(true), ignored);
  }
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return fail(Errc::unavailable, "cannot listen on " + address.to_string() + ":" +
                                       std::to_string(port) + ": " + ec.message());
  }
  return acceptor_.local_endpoint();
}

void HttpServer::start() {
  asio::co_spawn(acceptor_.get_executor(), accept_loop(), [this](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      log_.error("http_accept_loop_failed", {{"what", ex.what()}});
    }
  });
}

asio::awaitable<void> HttpServer::accept_loop() {
  asio::steady_timer backoff(acceptor_.get_executor());
  while (acceptor_.is_open()) {
    const auto executor_for_connection = options_.single_threaded
                                             ? asio::any_io_executor(io_.get_executor())
                                             : asio::any_io_executor(asio::make_strand(io_));
    // The peer's address comes with the accept, not from a getpeername() per connection.
    tcp::endpoint peer;
    auto [ec, socket] = co_await acceptor_.async_accept(executor_for_connection, peer, use_nothrow);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) break;
      // Out of file descriptors and similar: back off instead of spinning.
      log_.warning("http_accept_failed", {{"error", ec.message()}});
      backoff.expires_after(100ms);
      co_await backoff.async_wait(use_nothrow);
      continue;
    }
    if (connection_count() >= options_.max_connections) {
      log_.warning("http_connection_refused", {{"reason", "max_connections"}});
      continue;  // the socket closes as it goes out of scope
    }
    if (!nodelay_inherited_) {
      tcp::no_delay inherited;
      socket.get_option(inherited, ec);
      nodelay_inherited_ = !ec && inherited.value();
    }
    if (!*nodelay_inherited_) socket.set_option(tcp::no_delay(true), ec);
    auto connection = std::make_shared<Connection>(std::move(socket), peer.address());
    registry_->add(connection);
    auto executor = connection->stream.get_executor();
    auto session = std::make_unique<Session>(std::move(connection), registry_, options_, router_,
                                             cors_, static_files_, log_);
    asio::co_spawn(executor, run_session(std::move(session)), [this](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        log_.error("http_session_failed", {{"what", ex.what()}});
      }
    });
  }
}

void HttpServer::shutdown(std::chrono::milliseconds grace, std::function<void()> done) {
  // Closing the acceptor may leave the io_context without work for an instant, and an
  // io_context without work stops running: hold work until `done` has run.
  auto work = std::make_shared<asio::executor_work_guard<asio::io_context::executor_type>>(
      io_.get_executor());
  std::vector<std::shared_ptr<Connection>> snapshot;
  {
    std::lock_guard lock(registry_->mutex);
    if (registry_->draining) return;
    registry_->draining = true;
    registry_->on_drained = [done = std::move(done), work] {
      done();
      work->reset();
    };
    asio::post(acceptor_.get_executor(), [this] {
      beast::error_code ec;
      acceptor_.close(ec);
    });
    snapshot.assign(registry_->connections.begin(), registry_->connections.end());
    if (snapshot.empty()) {
      asio::post(io_, std::exchange(registry_->on_drained, {}));
      return;
    }
  }
  for (auto& connection : snapshot) {
    asio::post(connection->strand, [connection] {
      connection->closing = true;
      // An idle connection is waiting for its next request: end that wait now. A busy one
      // finishes its response first and then closes (keep-alive is off while draining).
      // The error_code overload: a handler that throws would end io_context::run on this thread.
      beast::error_code ignored;
      if (!connection->in_request && !connection->upgraded) {
        connection->stream.socket().close(ignored);
      }
    });
  }
  auto timer = std::make_shared<asio::steady_timer>(io_, grace);
  timer->async_wait([timer, registry = registry_](const beast::error_code&) {
    std::vector<std::shared_ptr<Connection>> left;
    {
      std::lock_guard lock(registry->mutex);
      left.assign(registry->connections.begin(), registry->connections.end());
    }
    for (auto& connection : left) {
      asio::post(connection->strand, [connection] {
        beast::error_code ignored;
        if (!connection->upgraded) connection->stream.socket().close(ignored);
      });
    }
  });
}

std::size_t HttpServer::connection_count() const {
  std::lock_guard lock(registry_->mutex);
  return registry_->connections.size();
}

}  // namespace parley::net
