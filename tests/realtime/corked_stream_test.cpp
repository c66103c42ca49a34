// CorkedStream under a real Beast WebSocket over loopback TCP: corked frames stay in the process
// until flush() and then arrive intact and in order; uncorked writes go straight through.

#include "realtime/engineio/corked_stream.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "realtime/engineio/websocket_frame.hpp"

namespace parley::realtime {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// A connected pair: the server side on a CorkedStream, the client a plain Beast WebSocket.
struct Pair {
  asio::io_context io;
  std::unique_ptr<websocket::stream<CorkedStream>> server;
  std::unique_ptr<websocket::stream<tcp::socket>> client;

  Pair() {
    tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    client = std::make_unique<websocket::stream<tcp::socket>>(io);
    client->next_layer().connect(acceptor.local_endpoint());
    server = std::make_unique<websocket::stream<CorkedStream>>(acceptor.accept());
    auto accepted = server->async_accept(asio::use_future);
    auto handshake = client->async_handshake("127.0.0.1", "/", asio::use_future);
    io.run();
    io.restart();
    accepted.get();
    handshake.get();
  }

  // Bytes waiting at the client right now.
  std::size_t client_available() { return client->next_layer().available(); }

  void run_until_idle() {
    io.run_for(100ms);
    io.restart();
  }
};

asio::awaitable<void> write_corked(websocket::stream<CorkedStream>& ws,
                                   std::vector<std::string> messages, bool& written) {
  ws.next_layer().cork();
  for (const auto& message : messages) {
    co_await ws.async_write(asio::buffer(message), asio::use_awaitable);
  }
  written = true;
}

TEST(CorkedStream, CorkedFramesWaitForFlushAndArriveInOrder) {
  Pair pair;
  bool written = false;
  const std::vector<std::string> messages{"42[\"a\"]", std::string(5000, 'x'), "42[\"c\"]"};
  asio::co_spawn(pair.io, write_corked(*pair.server, messages, written), asio::detached);
  pair.run_until_idle();
  ASSERT_TRUE(written) << "corked writes complete without the network";
  EXPECT_EQ(pair.client_available(), 0u) << "nothing left the process before flush()";

  std::optional<beast::error_code> flushed;
  pair.server->next_layer().async_flush([&](beast::error_code ec) { flushed = ec; });
  pair.run_until_idle();
  ASSERT_TRUE(flushed.has_value());
  EXPECT_FALSE(*flushed);
  for (const auto& expected : messages) {
    beast::flat_buffer buffer;
    pair.client->read(buffer);
    EXPECT_EQ(beast::buffers_to_string(buffer.data()), expected);
  }
}

TEST(CorkedStream, UncorkedWritesGoStraightThrough) {
  Pair pair;
  auto written = pair.server->async_write(asio::buffer(std::string("hello")), asio::use_future);
  pair.run_until_idle();
  written.get();
  beast::flat_buffer buffer;
  pair.client->read(buffer);
  EXPECT_EQ(beast::buffers_to_string(buffer.data()), "hello");
}

// Frames written directly (the uncompressed hot path) read back through Beast's client at every
// length encoding: 7-bit, 16-bit and 64-bit, at their boundaries, text and binary.
TEST(CorkedStream, DirectlyWrittenFramesDecodeAtEveryLengthEncoding) {
  Pair pair;
  const std::vector<std::size_t> sizes{0, 1, 125, 126, 127, 65535, 65536, 70000};
  auto& stream = pair.server->next_layer();
  stream.cork();
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    append_websocket_frame(stream.corked_bytes(), i % 2 == 1,
                           std::string(sizes[i], static_cast<char>('a' + i)));
  }
  std::optional<beast::error_code> flushed;
  stream.async_flush([&](beast::error_code ec) { flushed = ec; });
  // The client reads while the server flushes (70 KB may not fit the socket buffers at once).
  std::thread reader([&] {
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      beast::flat_buffer buffer;
      pair.client->read(buffer);
      EXPECT_EQ(pair.client->got_binary(), i % 2 == 1) << sizes[i];
      EXPECT_EQ(beast::buffers_to_string(buffer.data()),
                std::string(sizes[i], static_cast<char>('a' + i)));
    }
  });
  pair.io.run_for(2s);
  reader.join();
  ASSERT_TRUE(flushed.has_value());
  EXPECT_FALSE(*flushed);
}

// A frame Beast writes straight through to a client that reads slowly is partly written for a
// while; the stream reports it in flight until Beast has written all of it, and only then lets
// a waiting writer of direct frames go.
TEST(CorkedStream, AWriteOfBeastsStillInFlightIsWaitedFor) {
  Pair pair;
  auto& stream = pair.server->next_layer();
  EXPECT_FALSE(stream.passthrough_in_flight());
  stream.next_layer().set_option(asio::socket_base::send_buffer_size(4096));
  const std::string big(4 * 1024 * 1024, 'b');  // more than loopback's buffers hold
  std::optional<beast::error_code> written;
  pair.server->async_write(asio::buffer(big),
                           [&](beast::error_code ec, std::size_t) { written = ec; });
  pair.run_until_idle();
  ASSERT_FALSE(written.has_value()) << "the client has read nothing yet";
  ASSERT_TRUE(stream.passthrough_in_flight()) << "a partly written frame";

  bool waited = false;
  bool write_done_first = false;
  stream.after_passthrough([&] {
    waited = true;
    write_done_first = written.has_value();
    EXPECT_FALSE(stream.passthrough_in_flight());
  });
  std::thread reader([&] {
    beast::flat_buffer buffer;
    pair.client->read(buffer);
    EXPECT_EQ(buffer.size(), big.size());
  });
  for (int i = 0; i < 100 && !waited; ++i) pair.run_until_idle();
  reader.join();
  ASSERT_TRUE(waited);
  EXPECT_TRUE(write_done_first) << "the waiter runs after Beast's whole frame is written";
  ASSERT_TRUE(written.has_value());
  EXPECT_FALSE(*written);
  EXPECT_FALSE(stream.passthrough_in_flight());
}

}  // namespace
}  // namespace parley::realtime
