#include "http_setup.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace parley::loadgen {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

struct Batch {
  asio::ip::tcp::endpoint server;
  const std::vector<HttpRequest>& requests;
  std::vector<HttpResponse>& responses;
  std::chrono::seconds timeout;
  std::size_t next = 0;  // only touched by coroutines of one single-threaded io_context
};

http::request<http::string_body> make_request(const Batch& batch, const HttpRequest& request) {
  http::request<http::string_body> req{request.method, request.target, 11};
  req.set(http::field::host,
          batch.server.address().to_string() + ":" + std::to_string(batch.server.port()));
  req.set(http::field::content_type, "application/json");
  if (!request.bearer.empty()) req.set(http::field::authorization, "Bearer " + request.bearer);
  req.keep_alive(true);
  req.body() = request.body;
  req.prepare_payload();
  return req;
}

// One keep-alive connection working through the shared queue of requests.
asio::awaitable<void> connection(Batch& batch) {
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  beast::flat_buffer buffer;
  bool open = false;
  while (batch.next < batch.requests.size()) {
    const std::size_t index = batch.next++;
    HttpResponse& out = batch.responses[index];
    for (int attempt = 0; attempt < 2 && out.status == 0; ++attempt) {
      if (!open) {
        stream.expires_after(batch.timeout);
        auto [ec] = co_await stream.async_connect(batch.server, use_nothrow);
        if (ec) {
          out.error = "connect: " + ec.message();
          continue;
        }
        open = true;
        buffer.clear();
      }
      auto request = make_request(batch, batch.requests[index]);
      stream.expires_after(batch.timeout);
      auto [write_ec, written] = co_await http::async_write(stream, request, use_nothrow);
      (void)written;
      http::response<http::string_body> response;
      boost::system::error_code read_ec;
      if (!write_ec) {
        auto [ec, n] = co_await http::async_read(stream, buffer, response, use_nothrow);
        (void)n;
        read_ec = ec;
      }
      if (write_ec || read_ec) {
        // Most likely the server closed an idle keep-alive connection: retry on a new one.
        out.error = (write_ec ? write_ec : read_ec).message();
        beast::error_code ignored;
        stream.socket().close(ignored);
        open = false;
        continue;
      }
      out.status = response.result_int();
      out.body = std::move(response.body());
      out.error.clear();
      if (!response.keep_alive()) {
        beast::error_code ignored;
        stream.socket().close(ignored);
        open = false;
      }
    }
  }
  if (open) {
    beast::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  }
}

}  // namespace

std::vector<HttpResponse> run_http(const asio::ip::tcp::endpoint& server,
                                   const std::vector<HttpRequest>& requests,
                                   std::size_t concurrency, std::chrono::seconds timeout) {
  std::vector<HttpResponse> responses(requests.size());
  if (requests.empty()) return responses;
  asio::io_context io(1);
  Batch batch{server, requests, responses, timeout};
  const std::size_t connections = std::clamp<std::size_t>(concurrency, 1, requests.size());
  for (std::size_t i = 0; i < connections; ++i) {
    asio::co_spawn(io, connection(batch), asio::detached);
  }
  io.run();
  return responses;
}

}  // namespace parley::loadgen
