#include "local_http_server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <stdexcept>

namespace parley::testing {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {
bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}
}  // namespace

std::string RecordedRequest::header(std::string_view name) const {
  for (const auto& [field, value] : headers) {
    if (iequal(field, name)) return value;
  }
  return {};
}

LocalHttpServer::LocalHttpServer(Handler handler) : handler_(std::move(handler)) {
  // The acceptor lives on the server thread; the port is known before the constructor returns.
  auto io = std::make_shared<asio::io_context>();
  auto acceptor =
      std::make_shared<tcp::acceptor>(*io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  port_ = acceptor->local_endpoint().port();
  thread_ = std::thread([this, io, acceptor] {
    while (!stopping_) {
      tcp::socket socket(*io);
      boost::system::error_code ec;
      acceptor->accept(socket, ec);
      if (stopping_) break;
      if (ec) continue;
      boost::beast::flat_buffer buffer;
      http::request_parser<http::string_body> parser;
      parser.body_limit(64 * 1024 * 1024);  // Beast's 1 MiB default is below what tests send
      http::read(socket, buffer, parser, ec);
      if (ec) continue;
      const auto& request = parser.get();
      RecordedRequest recorded;
      recorded.method = std::string(request.method_string());
      recorded.target = std::string(request.target());
      for (const auto& field : request) {
        recorded.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
      }
      recorded.body = request.body();
      const CannedResponse canned = handler_(recorded);
      // Sleep in slices so that the destructor does not wait out a long delay.
      const auto until = std::chrono::steady_clock::now() + canned.delay;
      while (!stopping_ && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      http::response<http::string_body> response;
      response.version(11);
      response.result(static_cast<unsigned>(canned.status));
      for (const auto& [name, value] : canned.headers) response.insert(name, value);
      response.set(http::field::connection, "close");
      response.body() = canned.body;
      if (canned.chunked) {
        response.chunked(true);
      } else {
        response.prepare_payload();
      }
      http::write(socket, response, ec);
      socket.shutdown(tcp::socket::shutdown_both, ec);
    }
  });
}

LocalHttpServer::~LocalHttpServer() {
  stopping_ = true;
  // Wake the blocking accept() with a throwaway connection.
  try {
    asio::io_context io;
    tcp::socket poke(io);
    boost::system::error_code ec;
    poke.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
  } catch (...) {
  }
  if (thread_.joinable()) thread_.join();
}

std::string LocalHttpServer::url(std::string_view target) const {
  return "http://127.0.0.1:" + std::to_string(port_) + std::string(target);
}

std::uint16_t unused_port() {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const auto port = acceptor.local_endpoint().port();
  acceptor.close();
  return port;
}

}  // namespace parley::testing
