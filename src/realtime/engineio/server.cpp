#include "realtime/engineio/server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/strand.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/decode_view.hpp>
#include <boost/url/parse.hpp>

#include "core/random.hpp"
#include "realtime/engineio/websocket_frame.hpp"
#include "realtime/protocol/engineio_packet.hpp"

namespace parley::realtime {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = net::http;
namespace websocket = beast::websocket;

namespace {

// Engine.IO's own error replies: HTTP 400 (or 403) with {"code","message"}.
net::Response protocol_error(int code, std::string_view message, unsigned version,
                             http::status status = http::status::bad_request) {
  return net::json_response(status, {{"code", code}, {"message", message}}, version);
}

struct Query {
  std::string eio;
  std::string transport;
  std::string sid;
};

Query parse_query(std::string_view target) {
  Query q;
  auto url = boost::urls::parse_origin_form(target);
  if (!url) return q;
  // Encoded views: only the three values wanted are decoded (a connect parses one query).
  const auto decoded = [](boost::urls::pct_string_view value) {
    const auto view = *value;
    return std::string(view.begin(), view.end());
  };
  for (const auto param : url->encoded_params()) {
    if (*param.key == "EIO") q.eio = decoded(param.value);
    if (*param.key == "transport") q.transport = decoded(param.value);
    if (*param.key == "sid") q.sid = decoded(param.value);
  }
  return q;
}

}  // namespace

// Forwards to the real listener and drops closed sessions from the registry.
class RegistryListener final : public EngineIoListener {
 public:
  RegistryListener(EngineIoListener& inner, std::mutex& mutex, EngineIoServer::SessionMap& sessions)
      : inner_(inner), mutex_(mutex), sessions_(sessions) {}
  void on_open(const std::shared_ptr<EngineIoSession>& s) override { inner_.on_open(s); }
  void on_message(const std::shared_ptr<EngineIoSession>& s, std::string data,
                  bool binary) override {
    inner_.on_message(s, std::move(data), binary);
  }
  void on_close(const std::shared_ptr<EngineIoSession>& s, std::string reason) override {
    {
      std::lock_guard lock(mutex_);
      sessions_.erase(s->id());
    }
    inner_.on_close(s, std::move(reason));
  }

 private:
  EngineIoListener& inner_;
  std::mutex& mutex_;
  EngineIoServer::SessionMap& sessions_;
};

EngineIoServer::EngineIoServer(
    asio::io_context& io, EngineIoOptions options, EngineIoListener& listener, core::Logger& log,
    std::function<bool(std::string_view, std::string_view)> origin_allowed)
    : io_(io),
      options_(options),
      end_of_turn_(io_.get_executor()),
      log_(log),
      origin_allowed_(std::move(origin_allowed)),
      registry_listener_(std::make_unique<RegistryListener>(listener, mutex_, sessions_)),
      listener_(*registry_listener_) {}

EngineIoServer::~EngineIoServer() = default;

std::size_t EngineIoServer::session_count() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

std::shared_ptr<EngineIoSession> EngineIoServer::find(const std::string& sid) const {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(sid);
  return it == sessions_.end() ? nullptr : it->second;
}

std::shared_ptr<EngineIoSession> EngineIoServer::create_session() {
  const auto executor = options_.single_threaded ? asio::any_io_executor(io_.get_executor())
                                                 : asio::any_io_executor(asio::make_strand(io_));
  auto session = std::make_shared<EngineIoSession>(core::random_token(15), executor, options_,
                                                   listener_, end_of_turn_);
  {
    std::lock_guard lock(mutex_);
    sessions_.emplace(session->id(), session);
  }
  listener_.on_open(session);
  session->start();
  return session;
}

std::string EngineIoServer::open_packet(const std::string& sid, bool can_upgrade) const {
  boost::json::object open{
      {"sid", sid},
      {"upgrades", can_upgrade ? boost::json::array{"websocket"} : boost::json::array{}},
      {"pingInterval", options_.ping_interval.count()},
      {"pingTimeout", options_.ping_timeout.count()},
      {"maxPayload", options_.max_payload}};
  return encode_text(EioPacket{EioType::open, boost::json::serialize(open), false});
}

void EngineIoServer::close_all() {
  std::vector<std::shared_ptr<EngineIoSession>> all;
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, session] : sessions_) all.push_back(session);
  }
  for (auto& session : all) session->close("server shutting down");
}

asio::awaitable<net::Response> EngineIoServer::handle_polling(net::RequestContext& ctx) {
  const auto version = ctx.request.version();
  if (origin_allowed_ &&
      !origin_allowed_(ctx.request[http::field::origin], ctx.request[http::field::host])) {
    co_return protocol_error(4, "Forbidden", version, http::status::forbidden);
  }
  const Query query = parse_query(ctx.request.target());
  if (query.eio != "4") co_return protocol_error(5, "Unsupported protocol version", version);
  if (query.transport != "polling" && query.transport != "websocket") {
    co_return protocol_error(0, "Transport unknown", version);
  }
  if (query.transport == "websocket") co_return protocol_error(3, "Bad request", version);

  const auto text_reply = [version](std::string body) {
    net::Response res{http::status::ok, version};
    res.set(http::field::content_type, "text/plain; charset=UTF-8");
    res.set(http::field::cache_control, "no-store");
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
  };

  if (query.sid.empty()) {
    if (ctx.request.method() != http::verb::get) {
      co_return protocol_error(2, "Bad handshake method", version);
    }
    auto session = create_session();
    co_return text_reply(open_packet(session->id(), true));
  }
  auto session = find(query.sid);
  if (!session) co_return protocol_error(1, "Session ID unknown", version);
  if (session->upgraded()) co_return protocol_error(3, "Bad request", version);

  if (ctx.request.method() == http::verb::get) {
    auto payload = co_await session->poll();
    if (!payload) co_return protocol_error(3, "Bad request", version);
    co_return text_reply(std::move(*payload));
  }
  // POST: packets from the client.
  if (ctx.request[http::field::content_type].starts_with("application/octet-stream")) {
    session->close("bad content type");
    co_return protocol_error(3, "Bad request", version);
  }
  if (!session->receive_payload(ctx.request.body())) {
    co_return protocol_error(3, "Bad request", version);
  }
  co_return text_reply("ok");
}

void EngineIoServer::handle_upgrade(beast::tcp_stream stream, net::UpgradeRequest upgrade) {
  const Query query = parse_query(upgrade.request.target());
  // A plain socket under the WebSocket: Beast's tcp_stream timers would cost memory on every
  // connection for deadlines that Engine.IO's heartbeat already enforces.
  auto ws = std::make_shared<EngineIoSession::WebSocket>(
      std::make_shared<CorkedStream>(stream.release_socket()));
  auto refuse = [ws]() {
    // A refused upgrade: plain 400 and close (the protocol's rule), then drop the socket.
    beast::error_code ec;
    beast::get_lowest_layer(*ws).close(ec);
  };
  if (query.eio != "4" || query.transport != "websocket") {
    refuse();
    return;
  }
  std::shared_ptr<EngineIoSession> session;
  if (!query.sid.empty()) {
    session = find(query.sid);
    if (!session || session->upgraded()) {
      refuse();
      return;
    }
  }
  auto executor = beast::get_lowest_layer(*ws).get_executor();
  asio::co_spawn(executor, serve_websocket(ws, session, std::move(upgrade.request)),
                 asio::detached);
}

asio::awaitable<void> EngineIoServer::serve_websocket(
    std::shared_ptr<EngineIoSession::WebSocket> ws, std::shared_ptr<EngineIoSession> session,
    net::Request request) {
  // Beast bounds the handshake; once open, Engine.IO's heartbeat finds dead peers, so Beast's
  // own idle timer and pings would be a second timer on every connection for nothing.
  auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::server);
  timeouts.idle_timeout = websocket::stream_base::none();
  timeouts.keep_alive_pings = false;
  ws->set_option(timeouts);
  if (options_.permessage_deflate) {
    websocket::permessage_deflate deflate;
    deflate.server_enable = true;
    // A smaller window and memory level than zlib's defaults: the state lives as long as the
    // connection, on every connection. Small frames (most chat events) are sent as they are.
    deflate.server_max_window_bits = 12;
    deflate.memLevel = 5;
    deflate.msg_size_threshold = 256;
    ws->set_option(deflate);
  }
  // A new session's first packet (the Engine.IO open) leaves in the same write as the handshake
  // response: one system call and one wake-up of the client instead of two.
  auto& stream = ws->next_layer().next_layer();
  if (!session) stream.cork();
  auto [ec] = co_await ws->async_accept(request, net::use_nothrow);
  // The upgrade request is not needed again, and this frame lives as long as the connection.
  request = net::Request{};
  if (ec) {
    if (!session) co_await stream.async_flush(net::use_nothrow);  // Beast's refusal, if any
    co_return;
  }
  if (session) {
    co_await session->run_websocket(ws, true);
    co_return;
  }
  auto fresh = create_session();
  append_websocket_frame(stream.corked_bytes(), false, open_packet(fresh->id(), false));
  auto [wec] = co_await stream.async_flush(net::use_nothrow);
  if (wec) {
    fresh->close("transport error");
    co_return;
  }
  co_await fresh->run_websocket(ws, false);
}

void EngineIoServer::add_routes(net::Router& router, const std::string& path) {
  net::RouteOptions options;
  options.max_body_bytes = options_.max_payload;
  options.on_upgrade = [this](beast::tcp_stream stream, net::UpgradeRequest upgrade) {
    handle_upgrade(std::move(stream), std::move(upgrade));
  };
  net::RouteOptions get_options = options;
  get_options.cancel_when_client_leaves = true;  // an abandoned long-poll ends the session
  router.add(
      http::verb::get, path, [this](net::RequestContext& ctx) { return handle_polling(ctx); },
      get_options);
  router.add(
      http::verb::post, path, [this](net::RequestContext& ctx) { return handle_polling(ctx); },
      options);
  // Other methods get Engine.IO's own answer (400 "Bad handshake method"), as from the reference
  // server, rather than the router's 405.
  for (auto verb : {http::verb::put, http::verb::delete_, http::verb::patch}) {
    router.add(verb, path, [](net::RequestContext& ctx) -> asio::awaitable<net::Response> {
      co_return protocol_error(2, "Bad handshake method", ctx.request.version());
    });
  }
}

}  // namespace parley::realtime
