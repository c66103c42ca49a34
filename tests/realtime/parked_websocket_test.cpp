// Idle WebSockets are parked (EngineIoSession drops Beast's WebSocket object and waits on the
// socket) and made again when the client sends. These tests drive a real session over loopback
// TCP against Beast's own client, and check that parking loses, reorders and breaks nothing:
// messages one at a time and back to back, fragmented messages, the client's control frames,
// sends while parked, and both ways of closing.

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <functional>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "realtime/engineio/session.hpp"
#include "recording_listener.hpp"

namespace parley::realtime {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

using testing::RecordingListener;

// Most tests park at every message, whatever its timing (the busy-client rule has its own test).
EngineIoOptions parking_after_every_message() {
  EngineIoOptions options;
  options.busy_gap = 0ms;
  return options;
}

// A session serving one WebSocket on the io_context's thread; the client is Beast's (it masks
// its frames, as browsers do) and is used synchronously from the test's thread.
struct Connection {
  asio::io_context io;
  RecordingListener listener;
  EngineIoOptions options;
  EndOfTurnWriter end_of_turn{io.get_executor()};
  std::shared_ptr<EngineIoSession> session;
  websocket::stream<tcp::socket> client{io};

  explicit Connection(EngineIoOptions engine_options = parking_after_every_message())
      : options(engine_options) {
    options.single_threaded = true;
    tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    client.next_layer().connect(acceptor.local_endpoint());
    tcp::socket server_side = acceptor.accept();
    // As in the server: the HTTP layer reads the upgrade request, the WebSocket accepts it.
    auto handshake = client.async_handshake("127.0.0.1", "/", asio::use_future);
    beast::flat_buffer request_bytes;
    beast::http::request<beast::http::empty_body> request;
    auto read = beast::http::async_read(server_side, request_bytes, request, asio::use_future);
    while (read.wait_for(0s) != std::future_status::ready) io.run_one();
    read.get();
    auto ws = std::make_shared<EngineIoSession::WebSocket>(
        std::make_shared<CorkedStream>(std::move(server_side)));
    auto accepted = ws->async_accept(request, asio::use_future);
    io.run();
    io.restart();
    accepted.get();
    handshake.get();
    session =
        std::make_shared<EngineIoSession>("s", io.get_executor(), options, listener, end_of_turn);
    asio::co_spawn(io, session->run_websocket(ws, false), asio::detached);
    settle();
  }

  // Runs the server until it has nothing left to do for now.
  void settle() {
    io.run_for(50ms);
    io.restart();
  }
  // Runs the server until `done` or two seconds.
  void settle_until(const std::function<bool()>& done) {
    for (int i = 0; i < 100 && !done(); ++i) settle();
  }

  void send_text(const std::string& text) {
    client.text(true);
    client.write(asio::buffer(text));
  }
  std::string read_text() {
    beast::flat_buffer buffer;
    client.read(buffer);
    return beast::buffers_to_string(buffer.data());
  }
};

// A masked client frame, built by hand: for sending several frames in one TCP write.
std::string client_frame(unsigned char opcode, bool fin, const std::string& payload) {
  std::string frame;
  frame.push_back(static_cast<char>((fin ? 0x80 : 0x00) | opcode));
  const unsigned char mask_bit = 0x80;
  if (payload.size() < 126) {
    frame.push_back(static_cast<char>(mask_bit | payload.size()));
  } else {
    frame.push_back(static_cast<char>(mask_bit | 126));
    frame.push_back(static_cast<char>((payload.size() >> 8) & 0xFF));
    frame.push_back(static_cast<char>(payload.size() & 0xFF));
  }
  const char key[4] = {0x11, 0x22, 0x33, 0x44};
  frame.append(key, 4);
  for (std::size_t i = 0; i < payload.size(); ++i) frame.push_back(payload[i] ^ key[i % 4]);
  return frame;
}

TEST(ParkedWebSocket, AnIdleConnectionParksAndEveryLaterMessageArrives) {
  Connection c;
  EXPECT_FALSE(c.session->parked()) << "a fresh connection reads its first message first";
  c.send_text("4hello");
  c.settle_until([&] { return c.session->parked(); });
  ASSERT_EQ(c.listener.messages, std::vector<std::string>{"hello"});
  EXPECT_TRUE(c.session->parked()) << "nothing more to read: the WebSocket object is gone";

  for (int i = 0; i < 5; ++i) {
    c.send_text("4again " + std::to_string(i));
    c.settle_until([&] { return c.listener.messages.size() == static_cast<std::size_t>(i + 2); });
    EXPECT_TRUE(c.session->parked());
  }
  ASSERT_EQ(c.listener.messages.size(), 6u);
  EXPECT_EQ(c.listener.messages.back(), "again 4");
  EXPECT_TRUE(c.listener.closes.empty());
}

TEST(ParkedWebSocket, ABusyClientKeepsItsWebSocketUntilAQuietSpell) {
  EngineIoOptions options;
  options.always_park_messages = 2;
  options.busy_gap = 1000ms;
  Connection c(options);
  const auto arrived = [&](std::size_t n) {
    c.settle_until([&] { return c.listener.messages.size() == n; });
    return c.listener.messages.size() == n;
  };
  c.send_text("4connect");
  ASSERT_TRUE(arrived(1));
  c.settle_until([&] { return c.session->parked(); });
  EXPECT_TRUE(c.session->parked()) << "a connection's first messages always park it";
  c.send_text("4join");
  ASSERT_TRUE(arrived(2));
  c.settle_until([&] { return c.session->parked(); });
  EXPECT_TRUE(c.session->parked()) << "a connection's first messages always park it";

  c.send_text("4quick 1");
  ASSERT_TRUE(arrived(3));
  EXPECT_FALSE(c.session->parked()) << "a message soon after the one before: the client is busy";
  c.send_text("4quick 2");
  ASSERT_TRUE(arrived(4));
  EXPECT_FALSE(c.session->parked());

  std::this_thread::sleep_for(1100ms);
  c.send_text("4after a pause");
  ASSERT_TRUE(arrived(5));
  c.settle_until([&] { return c.session->parked(); });
  EXPECT_TRUE(c.session->parked()) << "the first message after a quiet spell parks it again";
  EXPECT_EQ(c.listener.messages,
            (std::vector<std::string>{"connect", "join", "quick 1", "quick 2", "after a pause"}));
  EXPECT_TRUE(c.listener.closes.empty());
}

TEST(ParkedWebSocket, MessagesInOneWriteAllArriveInOrder) {
  Connection c;
  c.send_text("4first");
  c.settle_until([&] { return c.session->parked(); });
  // Three frames in one TCP segment: Beast reads them together, so the session must not park
  // while it holds the second and third.
  const std::string burst = client_frame(0x1, true, "4a") + client_frame(0x1, true, "4b") +
                            client_frame(0x1, true, "4" + std::string(300, 'c'));
  asio::write(c.client.next_layer(), asio::buffer(burst));
  c.settle_until([&] { return c.listener.messages.size() == 4; });
  ASSERT_EQ(c.listener.messages.size(), 4u);
  EXPECT_EQ(c.listener.messages[1], "a");
  EXPECT_EQ(c.listener.messages[2], "b");
  EXPECT_EQ(c.listener.messages[3], std::string(300, 'c'));
  c.settle_until([&] { return c.session->parked(); });
  EXPECT_TRUE(c.session->parked()) << "all read: parked again";
}

TEST(ParkedWebSocket, AFragmentedMessageAndAPingBetweenMessagesAreHandled) {
  Connection c;
  c.send_text("4start");
  c.settle_until([&] { return c.session->parked(); });
  // A message in three frames with a ping between them, then a whole one.
  const std::string frames = client_frame(0x1, false, "4frag") + client_frame(0x9, true, "p") +
                             client_frame(0x0, false, "men") + client_frame(0x0, true, "ted") +
                             client_frame(0x1, true, "4after");
  asio::write(c.client.next_layer(), asio::buffer(frames));
  c.settle_until([&] { return c.listener.messages.size() == 3; });
  ASSERT_EQ(c.listener.messages.size(), 3u);
  EXPECT_EQ(c.listener.messages[1], "fragmented");
  EXPECT_EQ(c.listener.messages[2], "after");
  // The pong for the ping reaches the client (Beast answers it while reading).
  bool ponged = false;
  c.client.control_callback([&](websocket::frame_type kind, beast::string_view payload) {
    if (kind == websocket::frame_type::pong && payload == "p") ponged = true;
  });
  c.session->send(make_message("to client"));
  c.settle();
  EXPECT_EQ(c.read_text(), "4to client");
  EXPECT_TRUE(ponged);
  // And messages keep arriving afterwards.
  c.send_text("4later");
  c.settle_until([&] { return c.listener.messages.size() == 4; });
  ASSERT_EQ(c.listener.messages.size(), 4u);
  EXPECT_EQ(c.listener.messages[3], "later");
  EXPECT_TRUE(c.listener.closes.empty());
}

TEST(ParkedWebSocket, ServerSendsReachAParkedClient) {
  Connection c;
  c.send_text("4hi");
  c.settle_until([&] { return c.session->parked(); });
  for (int i = 0; i < 3; ++i) c.session->send(make_message("m" + std::to_string(i)));
  c.settle();
  EXPECT_TRUE(c.session->parked()) << "writing needs no WebSocket object";
  EXPECT_EQ(c.read_text(), "4m0");
  EXPECT_EQ(c.read_text(), "4m1");
  EXPECT_EQ(c.read_text(), "4m2");
}

// An ack and the sender's own copy of the message it acknowledges, or several messages of a
// stored batch: what one turn of the network thread queues for a connection waits for the end
// of the turn and leaves in one write (on loopback, bytes written are readable at once).
TEST(EndOfTurnWriter, PacketsQueuedInOneTurnLeaveTogetherAtItsEnd) {
  Connection c;
  c.send_text("4hi");
  c.settle_until([&] { return c.session->parked(); });
  std::size_t readable_in_the_turn = 99;
  std::size_t readable_in_the_next_turn = 0;
  asio::post(c.io, [&] {
    c.session->send(make_message("ack"));
    c.session->send(make_message("message"));
    readable_in_the_turn = c.client.next_layer().available();
    // Queued behind the write at the turn's end.
    asio::post(c.io, [&] { readable_in_the_next_turn = c.client.next_layer().available(); });
  });
  c.settle();
  EXPECT_EQ(readable_in_the_turn, 0u);
  EXPECT_EQ(readable_in_the_next_turn, (2 + 4) + (2 + 8)) << "both frames: 2-byte headers";
  EXPECT_EQ(c.read_text(), "4ack");
  EXPECT_EQ(c.read_text(), "4message");
}

// Handlers that ran between the first packet and the turn's end add theirs to the same write.
TEST(EndOfTurnWriter, HandlersAlreadyWaitingShareTheWrite) {
  Connection c;
  c.send_text("4hi");
  c.settle_until([&] { return c.session->parked(); });
  std::size_t readable_after = 0;
  asio::post(c.io, [&] { c.session->send(make_message("one")); });
  asio::post(c.io, [&] { c.session->send(make_message("two")); });
  asio::post(c.io, [&] { c.session->send(make_message("three")); });
  asio::post(c.io, [&] {
    EXPECT_EQ(c.client.next_layer().available(), 0u) << "nothing written yet";
    asio::post(c.io, [&] { readable_after = c.client.next_layer().available(); });
  });
  c.settle();
  EXPECT_EQ(readable_after, (2 + 4) + (2 + 4) + (2 + 6));
  EXPECT_EQ(c.read_text(), "4one");
  EXPECT_EQ(c.read_text(), "4two");
  EXPECT_EQ(c.read_text(), "4three");
}

TEST(EndOfTurnWriter, SendsOffTheNetworkThreadAreWrittenAsBefore) {
  Connection c;
  c.session->send(make_message("still sent"));
  c.settle();
  EXPECT_EQ(c.read_text(), "4still sent");
}

TEST(EndOfTurnWriter, ACloseInTheTurnIsCarriedOutAfterTheWrite) {
  Connection c;
  c.send_text("4hi");
  c.settle_until([&] { return c.session->parked(); });
  asio::post(c.io, [&] {
    c.session->send(make_message("last words"));
    c.session->close("server shutdown");
  });
  // The client answers the close frame and waits for the server's teardown: both sides run.
  std::thread client_side([&] {
    EXPECT_EQ(c.read_text(), "4last words");
    beast::flat_buffer buffer;
    beast::error_code ec;
    c.client.read(buffer, ec);
    EXPECT_EQ(ec, websocket::error::closed) << ec.message();
  });
  c.io.run_for(1s);
  client_side.join();
  EXPECT_EQ(c.listener.closes, std::vector<std::string>{"server shutdown"});
}

TEST(ParkedWebSocket, AServerCloseWhileParkedSendsTheCloseFrame) {
  Connection c;
  c.send_text("4hi");
  c.settle_until([&] { return c.session->parked(); });
  c.session->close("kicked");
  // The client reads the close frame (and answers it, which Beast's client does by itself).
  std::thread client_side([&] {
    beast::flat_buffer buffer;
    beast::error_code ec;
    c.client.read(buffer, ec);
    EXPECT_EQ(ec, websocket::error::closed);
    EXPECT_EQ(c.client.reason().code, websocket::close_code::normal);
  });
  c.io.run_for(1s);
  client_side.join();
  ASSERT_EQ(c.listener.closes, std::vector<std::string>{"kicked"});
}

TEST(ParkedWebSocket, AClientCloseWhileParkedEndsTheSession) {
  Connection c;
  c.send_text("4hi");
  c.settle_until([&] { return c.session->parked(); });
  std::thread client_side([&] {
    beast::error_code ec;
    c.client.close(websocket::close_code::going_away, ec);
    EXPECT_FALSE(ec) << ec.message();
  });
  c.settle_until([&] { return !c.listener.closes.empty(); });
  client_side.join();
  ASSERT_EQ(c.listener.closes, std::vector<std::string>{"transport close"});
}

TEST(ParkedWebSocket, APeerThatVanishesWhileParkedEndsTheSession) {
  Connection c;
  c.send_text("4hi");
  c.settle_until([&] { return c.session->parked(); });
  c.client.next_layer().close();
  c.settle_until([&] { return !c.listener.closes.empty(); });
  ASSERT_EQ(c.listener.closes, std::vector<std::string>{"transport error"});
}

TEST(ParkedWebSocket, AnOversizedMessageAfterParkingGets1009) {
  EngineIoOptions options;
  options.max_payload = 1000;
  Connection c(options);
  c.send_text("4hi");
  c.settle_until([&] { return c.session->parked(); });
  std::thread client_side([&] {
    beast::error_code ec;
    c.client.write(asio::buffer("4" + std::string(5000, 'x')), ec);
    beast::flat_buffer buffer;
    c.client.read(buffer, ec);
    EXPECT_EQ(ec, websocket::error::closed);
    EXPECT_EQ(c.client.reason().code, websocket::close_code::too_big);
  });
  c.io.run_for(1s);
  client_side.join();
  ASSERT_EQ(c.listener.closes, std::vector<std::string>{"message too big"});
  EXPECT_EQ(c.listener.messages, std::vector<std::string>{"hi"});
}

TEST(ParkedWebSocket, CompressedConnectionsAreNeverParked) {
  EngineIoOptions options;
  options.permessage_deflate = true;
  Connection c(options);
  c.send_text("4hi");
  c.settle_until([&] { return !c.listener.messages.empty(); });
  c.settle();
  EXPECT_FALSE(c.session->parked());
  c.send_text("4again");
  c.settle_until([&] { return c.listener.messages.size() == 2; });
  EXPECT_EQ(c.listener.messages.back(), "again");
}

}  // namespace
}  // namespace parley::realtime
