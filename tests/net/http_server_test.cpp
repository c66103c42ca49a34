// The HTTP core through real sockets: error shapes and status codes, limits, CORS, request ids,
// static files, deadlines and graceful shutdown.

#include "net/http_server.hpp"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>

#include "net/json_body.hpp"
#include "support/http_client.hpp"

namespace parley::net {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using parley::testing::json_of;
using parley::testing::raw_exchange;
using parley::testing::request;
using namespace std::chrono_literals;

class CapturingSink final : public core::LogSink {
 public:
  void write_line(std::string_view line) override {
    std::lock_guard lock(mutex);
    lines.emplace_back(line);
  }
  std::vector<std::string> snapshot() {
    std::lock_guard lock(mutex);
    return lines;
  }
  std::mutex mutex;
  std::vector<std::string> lines;
};

constexpr const char* kAllowedOrigin = "http://app.test:3000";

Errc errc_named(std::string_view name) {
  for (int i = 0; i <= static_cast<int>(Errc::unsupported); ++i) {
    if (to_code(static_cast<Errc>(i)) == name) return static_cast<Errc>(i);
  }
  return Errc::internal;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    web_ = fs::temp_directory_path() / ("parley-web-" + std::to_string(::getpid()));
    fs::remove_all(web_);
    fs::create_directories(web_ / "public");
    std::ofstream(web_ / "public" / "index.html") << "<!doctype html><title>Parley</title>";
    std::ofstream(web_ / "outside.txt") << "outside-secret";
    add_routes();
    ServerOptions options;
    options.max_body_bytes = 1024;
    options.max_header_bytes = 2048;
    options.request_timeout = 400ms;
    options.read_timeout = 2s;
    static_files_ = std::make_unique<StaticFiles>(web_ / "public");
    server_ = std::make_unique<HttpServer>(io_, options, router_, cors_, static_files_.get(), log_);
    port_ = server_->listen(asio::ip::make_address("127.0.0.1"), 0).value().port();
    server_->start();
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  }

  void TearDown() override {
    if (!stopped_) stop_server();
    fs::remove_all(web_);
  }

  void stop_server() {
    std::promise<void> drained;
    auto finished = drained.get_future();
    server_->shutdown(2s, [&] {
      drained.set_value();
      io_.stop();
    });
    const bool drained_in_time = finished.wait_for(10s) == std::future_status::ready;
    EXPECT_TRUE(drained_in_time) << "connections left: " << server_->connection_count();
    io_.stop();
    for (auto& t : threads_) t.join();
    stopped_ = true;
  }

  void add_routes() {
    router_.add(http::verb::get, "/api/ping", [](RequestContext& ctx) -> asio::awaitable<Response> {
      co_return json_response(http::status::ok, {{"pong", true}}, ctx.request.version());
    });
    router_.add(http::verb::post, "/api/echo",
                [](RequestContext& ctx) -> asio::awaitable<Response> {
                  auto body = parse_json_object(ctx.request);
                  if (!body) co_return error_response(body.error(), ctx.request_id);
                  auto name = required_string(*body, "name", {.min_length = 1, .max_length = 20});
                  if (!name) co_return error_response(name.error(), ctx.request_id);
                  co_return json_response(http::status::ok, {{"name", *name}});
                });
    router_.add(
        http::verb::post, "/api/upload",
        [](RequestContext& ctx) -> asio::awaitable<Response> {
          co_return json_response(http::status::ok, {{"bytes", ctx.request.body().size()}});
        },
        RouteOptions{.max_body_bytes = 64 * 1024});
    router_.add(
        http::verb::get, "/api/whoami", [](RequestContext& ctx) -> asio::awaitable<Response> {
          co_return json_response(http::status::ok, {{"remote", ctx.remote_address.to_string()}});
        });
    router_.add(http::verb::get, "/api/items/{id}",
                [](RequestContext& ctx) -> asio::awaitable<Response> {
                  co_return json_response(http::status::ok, {{"id", ctx.params.get("id")}});
                });
    router_.add(http::verb::get, "/api/errors/{code}",
                [](RequestContext& ctx) -> asio::awaitable<Response> {
                  co_return error_response(
                      fail(errc_named(ctx.params.get("code")), "database file /var/x is locked"),
                      ctx.request_id);
                });
    router_.add(http::verb::get, "/api/throw", [](RequestContext&) -> asio::awaitable<Response> {
      throw std::runtime_error("secret internal detail");
      co_return Response{};
    });
    router_.add(http::verb::get, "/api/slow", [](RequestContext& ctx) -> asio::awaitable<Response> {
      asio::steady_timer timer(co_await asio::this_coro::executor, 300ms);
      co_await timer.async_wait(asio::use_awaitable);
      co_return json_response(http::status::ok, {{"slow", true}}, ctx.request.version());
    });
    // A long-held request that wants to know when its client leaves (as a long-poll does).
    router_.add(
        http::verb::get, "/api/hold",
        [this](RequestContext& ctx) -> asio::awaitable<Response> {
          asio::steady_timer timer(co_await asio::this_coro::executor, 5s);
          co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
          const auto state = co_await asio::this_coro::cancellation_state;
          hold_outcome_.set_value(state.cancelled() != asio::cancellation_type::none ? "cancelled"
                                                                                     : "finished");
          co_return json_response(http::status::ok, {{"held", true}}, ctx.request.version());
        },
        RouteOptions{.cancel_when_client_leaves = true});
    router_.add(http::verb::get, "/api/forever", [](RequestContext&) -> asio::awaitable<Response> {
      asio::steady_timer timer(co_await asio::this_coro::executor, 30s);
      co_await timer.async_wait(asio::use_awaitable);
      co_return Response{};
    });
  }

  asio::io_context io_;
  CapturingSink sink_;
  core::Logger log_{sink_, core::LogLevel::info};
  Router router_;
  CorsPolicy cors_{{kAllowedOrigin}};
  std::unique_ptr<StaticFiles> static_files_;
  std::unique_ptr<HttpServer> server_;
  std::vector<std::thread> threads_;
  std::uint16_t port_ = 0;
  std::promise<std::string> hold_outcome_;
  fs::path web_;
  bool stopped_ = false;
};

void expect_error_shape(const parley::testing::Reply& reply, int status, std::string_view code) {
  EXPECT_EQ(reply.result_int(), status) << reply.body();
  EXPECT_EQ(reply[http::field::content_type], "application/json");
  auto body = json_of(reply).as_object();
  ASSERT_TRUE(body.contains("error")) << reply.body();
  EXPECT_EQ(std::string_view(body["error"].at("code").as_string()), code) << reply.body();
  EXPECT_TRUE(body["error"].at("message").is_string());
  EXPECT_FALSE(reply["X-Request-Id"].empty());
}

TEST_F(HttpServerTest, AHandlerIsCancelledWhenItsClientLeavesIfTheRouteAsks) {
  auto outcome = hold_outcome_.get_future();
  {
    asio::io_context client_io;
    asio::ip::tcp::socket client(client_io);
    client.connect({asio::ip::make_address("127.0.0.1"), port_});
    const std::string get = "GET /api/hold HTTP/1.1\r\nHost: localhost\r\n\r\n";
    asio::write(client, asio::buffer(get));
    std::this_thread::sleep_for(50ms);
  }  // the client closes its connection while the handler waits
  const auto closed_at = std::chrono::steady_clock::now();
  ASSERT_EQ(outcome.wait_for(2s), std::future_status::ready);
  EXPECT_EQ(outcome.get(), "cancelled");
  // Well before the 400 ms request deadline, which would also have cancelled it.
  EXPECT_LT(std::chrono::steady_clock::now() - closed_at, 300ms);
}

TEST_F(HttpServerTest, ServesJsonWithSecurityHeadersAndPathParameters) {
  auto reply = request(port_, http::verb::get, "/api/items/abc");
  EXPECT_EQ(reply.result_int(), 200);
  EXPECT_EQ(json_of(reply).at("id"), "abc");
  EXPECT_EQ(reply["X-Content-Type-Options"], "nosniff");
  EXPECT_EQ(reply[http::field::cache_control], "no-store");
  EXPECT_TRUE(reply[http::field::server].empty()) << "no version banner";
}

TEST_F(HttpServerTest, EveryDomainErrorHasItsStatusAndTheErrorShape) {
  const std::pair<const char*, int> cases[] = {
      {"invalid_request", 400},   {"validation_failed", 422},
      {"unauthorized", 401},      {"forbidden", 403},
      {"not_found", 404},         {"conflict", 409},
      {"payload_too_large", 413}, {"unsupported_media_type", 415},
      {"rate_limited", 429},      {"busy", 503},
      {"unavailable", 503},       {"timeout", 504},
      {"quota_exceeded", 402},    {"internal", 500}};
  for (auto [code, status] : cases) {
    auto reply = request(port_, http::verb::get, std::string("/api/errors/") + code);
    expect_error_shape(reply, status, code);
  }
  auto busy = request(port_, http::verb::get, "/api/errors/busy");
  EXPECT_EQ(busy[http::field::retry_after], "1");
  // 500 never shows internals, but does show the request id to quote.
  auto internal = request(port_, http::verb::get, "/api/errors/internal");
  EXPECT_EQ(internal.body().find("/var/x"), std::string::npos);
  EXPECT_NE(internal.body().find(std::string(internal["X-Request-Id"])), std::string::npos);
}

TEST_F(HttpServerTest, HandlersSeeThePeerAddressGivenByAccept) {
  for (int i = 0; i < 2; ++i) {  // the first connection and the later ones
    auto res = request(port_, http::verb::get, "/api/whoami");
    EXPECT_EQ(res.result(), http::status::ok);
    EXPECT_EQ(json_of(res).at("remote").as_string(), "127.0.0.1");
  }
}

// The server sets TCP_NODELAY on its listener and relies on accepted sockets inheriting it (it
// checks the first one and falls back to a setsockopt per connection where they do not).
TEST(TcpNoDelay, AcceptedSocketsInheritItFromTheListenerOnLinux) {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io);
  acceptor.open(asio::ip::tcp::v4());
  acceptor.set_option(asio::ip::tcp::no_delay(true));
  acceptor.bind({asio::ip::make_address("127.0.0.1"), 0});
  acceptor.listen();
  asio::ip::tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  auto accepted = acceptor.accept();
  asio::ip::tcp::no_delay option;
  accepted.get_option(option);
  EXPECT_TRUE(option.value());
}

TEST_F(HttpServerTest, UnknownRoutesAndWrongMethods) {
  expect_error_shape(request(port_, http::verb::get, "/api/nothing-here"), 404, "not_found");
  auto wrong = request(port_, http::verb::delete_, "/api/ping");
  expect_error_shape(wrong, 405, "method_not_allowed");
  EXPECT_EQ(wrong[http::field::allow], "GET, HEAD, OPTIONS");
}

TEST_F(HttpServerTest, JsonBodiesAreCheckedForTypeSyntaxAndRules) {
  const parley::testing::Headers json{{"Content-Type", "application/json"}};
  auto ok = request(port_, http::verb::post, "/api/echo", R"({"name":"Ana","extra":1})", json);
  EXPECT_EQ(ok.result_int(), 200);
  EXPECT_EQ(json_of(ok).at("name"), "Ana");
  expect_error_shape(request(port_, http::verb::post, "/api/echo", R"({"name":)", json), 400,
                     "invalid_request");
  expect_error_shape(request(port_, http::verb::post, "/api/echo", "[]", json), 400,
                     "invalid_request");
  expect_error_shape(request(port_, http::verb::post, "/api/echo", R"({"name":"Ana"})",
                             {{"Content-Type", "text/plain"}}),
                     415, "unsupported_media_type");
  expect_error_shape(request(port_, http::verb::post, "/api/echo", R"({"name":42})", json), 422,
                     "validation_failed");
  expect_error_shape(request(port_, http::verb::post, "/api/echo", R"({})", json), 422,
                     "validation_failed");
}

TEST_F(HttpServerTest, BodiesOverTheRouteLimitGet413BeforeBeingRead) {
  const parley::testing::Headers json{{"Content-Type", "application/json"}};
  const std::string big = R"({"name":")" + std::string(2000, 'a') + R"("})";
  expect_error_shape(request(port_, http::verb::post, "/api/echo", big, json), 413,
                     "payload_too_large");
  // A route with its own, larger limit accepts the same body.
  EXPECT_EQ(request(port_, http::verb::post, "/api/upload", big, json).result_int(), 200);
  // Chunked bodies are cut off as they grow past the limit.
  std::string chunked =
      "POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 4; ++i) chunked += "200\r\n" + std::string(512, 'a') + "\r\n";
  chunked += "0\r\n\r\n";
  auto raw = raw_exchange(port_, chunked);
  EXPECT_TRUE(raw.starts_with("HTTP/1.1 413")) << raw.substr(0, 80);
  // Expect: 100-continue with a too-large Content-Length is refused without a 100.
  auto expect = raw_exchange(port_,
                             "POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 999999\r\n"
                             "Expect: 100-continue\r\nContent-Type: application/json\r\n\r\n");
  EXPECT_TRUE(expect.starts_with("HTTP/1.1 413")) << expect.substr(0, 80);
  // A declared length beyond Beast's own default limit (1 MB) is still our 413, not a 400.
  auto declared =
      raw_exchange(port_,
                   "POST /api/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\n"
                   "Expect: 100-continue\r\nContent-Type: application/json\r\n\r\n");
  EXPECT_TRUE(declared.starts_with("HTTP/1.1 413")) << declared.substr(0, 80);
}

TEST_F(HttpServerTest, MalformedRequestsAndOversizedHeaders) {
  auto garbage = raw_exchange(port_, "THIS IS NOT HTTP\r\n\r\n");
  EXPECT_TRUE(garbage.starts_with("HTTP/1.1 400")) << garbage.substr(0, 80);
  auto huge = raw_exchange(
      port_, "GET /api/ping HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4096, 'a') + "\r\n\r\n");
  EXPECT_TRUE(huge.starts_with("HTTP/1.1 431")) << huge.substr(0, 80);
  auto nul = raw_exchange(port_, "GET /api/ping%00 HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(nul.starts_with("HTTP/1.1 400")) << nul.substr(0, 80);
}

TEST_F(HttpServerTest, KeepAliveServesPipelinedRequestsOnOneConnection) {
  auto raw = raw_exchange(port_,
                          "GET /api/ping HTTP/1.1\r\nHost: x\r\n\r\n"
                          "GET /api/items/2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(raw.find("\"pong\":true"), std::string::npos);
  EXPECT_NE(raw.find("\"id\":\"2\""), std::string::npos);
}

TEST_F(HttpServerTest, RequestIdsAreEchoedOrGeneratedAndLogged) {
  auto mine = request(port_, http::verb::get, "/api/ping", "", {{"X-Request-Id", "trace-abc.1"}});
  EXPECT_EQ(mine["X-Request-Id"], "trace-abc.1");
  auto forged =
      request(port_, http::verb::get, "/api/ping", "", {{"X-Request-Id", "bad id with spaces"}});
  EXPECT_NE(forged["X-Request-Id"], "bad id with spaces");
  EXPECT_EQ(forged["X-Request-Id"].size(), 16u);
  bool logged = false;
  // The access line is written after the response, so it may trail the client's read a little.
  for (int attempt = 0; attempt < 200 && !logged; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(10ms);
    for (const auto& line : sink_.snapshot()) {
      auto entry = boost::json::parse(line).as_object();
      if (entry["event"] == "http_request" && entry["request_id"] == "trace-abc.1") {
        logged = true;
        EXPECT_EQ(entry["status"], 200);
        EXPECT_EQ(entry["path"], "/api/ping");
        EXPECT_TRUE(entry.contains("duration_us"));
      }
    }
  }
  EXPECT_TRUE(logged);
}

TEST_F(HttpServerTest, CorsPreflightAndActualRequests) {
  auto preflight =
      request(port_, http::verb::options, "/api/echo", "",
              {{"Origin", kAllowedOrigin},
               {"Access-Control-Request-Method", "POST"},
               {"Access-Control-Request-Headers", "content-type, authorization, x-evil"}});
  EXPECT_EQ(preflight.result_int(), 204);
  EXPECT_EQ(preflight[http::field::access_control_allow_origin], kAllowedOrigin);
  EXPECT_EQ(preflight[http::field::access_control_allow_methods], "OPTIONS, POST");
  EXPECT_EQ(preflight[http::field::access_control_allow_headers], "content-type, authorization");
  EXPECT_EQ(preflight[http::field::access_control_allow_credentials], "true");

  auto evil =
      request(port_, http::verb::options, "/api/echo", "",
              {{"Origin", "https://evil.example"}, {"Access-Control-Request-Method", "POST"}});
  EXPECT_EQ(evil.result_int(), 403);
  EXPECT_TRUE(evil[http::field::access_control_allow_origin].empty());

  auto wrong_method =
      request(port_, http::verb::options, "/api/echo", "",
              {{"Origin", kAllowedOrigin}, {"Access-Control-Request-Method", "PUT"}});
  EXPECT_EQ(wrong_method.result_int(), 405);

  auto actual = request(port_, http::verb::get, "/api/ping", "", {{"Origin", kAllowedOrigin}});
  EXPECT_EQ(actual[http::field::access_control_allow_origin], kAllowedOrigin);
  EXPECT_EQ(actual[http::field::vary], "Origin");
  auto null_origin = request(port_, http::verb::get, "/api/ping", "", {{"Origin", "null"}});
  EXPECT_TRUE(null_origin[http::field::access_control_allow_origin].empty());
  auto other =
      request(port_, http::verb::get, "/api/ping", "", {{"Origin", "http://app.test:3001"}});
  EXPECT_TRUE(other[http::field::access_control_allow_origin].empty());
}

TEST_F(HttpServerTest, StaticFilesAreServedAndTraversalIsRefused) {
  auto index = request(port_, http::verb::get, "/");
  EXPECT_EQ(index.result_int(), 200);
  EXPECT_EQ(index[http::field::content_type], "text/html; charset=utf-8");
  EXPECT_NE(index.body().find("<title>Parley</title>"), std::string::npos);
  auto again = request(port_, http::verb::get, "/index.html", "",
                       {{"If-None-Match", std::string(index[http::field::etag])}});
  EXPECT_EQ(again.result_int(), 304);
  auto head = request(port_, http::verb::head, "/index.html");
  EXPECT_EQ(head.result_int(), 200);
  EXPECT_EQ(head[http::field::content_length], std::to_string(index.body().size()));

  for (const char* target : {"/../outside.txt", "/%2e%2e/outside.txt", "/..%2foutside.txt",
                             "/%2e%2e%2foutside.txt", "/..%5coutside.txt", "/.%2e/outside.txt"}) {
    auto raw = raw_exchange(
        port_, std::string("GET ") + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(raw.find("outside-secret"), std::string::npos) << target;
    EXPECT_TRUE(raw.starts_with("HTTP/1.1 404") || raw.starts_with("HTTP/1.1 400"))
        << target << ": " << raw.substr(0, 40);
  }
}

TEST_F(HttpServerTest, HandlerExceptionsBecome500WithoutInternals) {
  auto reply = request(port_, http::verb::get, "/api/throw");
  expect_error_shape(reply, 500, "internal");
  EXPECT_EQ(reply.body().find("secret internal detail"), std::string::npos);
}

TEST_F(HttpServerTest, HandlersHaveADeadline) {
  const auto started = std::chrono::steady_clock::now();
  auto reply = request(port_, http::verb::get, "/api/forever");
  expect_error_shape(reply, 504, "timeout");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}

TEST_F(HttpServerTest, GracefulShutdownFinishesTheRequestInFlight) {
  auto in_flight = std::async(std::launch::async,
                              [this] { return request(port_, http::verb::get, "/api/slow"); });
  // An idle keep-alive connection: shutdown must close it rather than wait for it.
  asio::io_context client_io;
  asio::ip::tcp::socket idle(client_io);
  idle.connect({asio::ip::make_address("127.0.0.1"), port_});
  std::this_thread::sleep_for(100ms);  // the slow request is now inside its handler
  ASSERT_EQ(server_->connection_count(), 2u);
  const auto started = std::chrono::steady_clock::now();
  stop_server();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1500ms) << "did not wait for the grace";

  auto reply = in_flight.get();
  EXPECT_EQ(reply.result_int(), 200);
  EXPECT_EQ(json_of(reply).at("slow"), true);
  EXPECT_FALSE(reply.keep_alive());
  char byte;
  boost::system::error_code ec;
  idle.read_some(asio::buffer(&byte, 1), ec);
  EXPECT_TRUE(ec) << "idle connection should be closed";
  // And nothing listens any more.
  asio::ip::tcp::socket late(client_io);
  late.connect({asio::ip::make_address("127.0.0.1"), port_}, ec);
  EXPECT_TRUE(ec);
}

}  // namespace
}  // namespace parley::net
