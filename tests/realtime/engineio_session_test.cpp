// EngineIoSession without sockets: the slow-consumer allowance, the heartbeat and long-poll
// payloads, driven on a real io_context.

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <optional>

#include "realtime/engineio/session.hpp"
#include "recording_listener.hpp"

namespace parley::realtime {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

using testing::RecordingListener;

TEST(EngineIoSession, AClientThatDoesNotReadIsClosedPastItsAllowance) {
  asio::io_context io;
  RecordingListener listener;
  EngineIoOptions options;
  EndOfTurnWriter end_of_turn(io.get_executor());
  options.max_buffered_bytes = 1000;
  auto session = std::make_shared<EngineIoSession>("s1", asio::make_strand(io), options, listener,
                                                   end_of_turn);
  const auto packet = make_message(std::string(300, 'x'));
  EXPECT_TRUE(session->send(packet));
  EXPECT_TRUE(session->send(packet));
  EXPECT_TRUE(session->send(packet));
  EXPECT_FALSE(session->send(packet)) << "the fourth packet passes 1000 bytes";
  ASSERT_EQ(listener.closes.size(), 1u);
  EXPECT_NE(listener.closes[0].find("slow consumer"), std::string::npos);
  EXPECT_FALSE(session->send(packet)) << "a closed session accepts nothing";
  io.run();
}

TEST(EngineIoSession, NoPongWithinThePingTimeoutCloses) {
  asio::io_context io;
  RecordingListener listener;
  EngineIoOptions options;
  EndOfTurnWriter end_of_turn(io.get_executor());
  options.ping_interval = 20ms;
  options.ping_timeout = 20ms;
  auto session = std::make_shared<EngineIoSession>("s2", asio::make_strand(io), options, listener,
                                                   end_of_turn);
  session->start();
  io.run_for(500ms);
  ASSERT_EQ(listener.closes.size(), 1u);
  EXPECT_EQ(listener.closes[0], "ping timeout");
}

asio::awaitable<void> poll_once(std::shared_ptr<EngineIoSession> session,
                                std::optional<std::string>* out) {
  *out = co_await session->poll();
}

TEST(EngineIoSession, APollReturnsQueuedPacketsJoinedByTheRecordSeparator) {
  asio::io_context io;
  RecordingListener listener;
  EngineIoOptions options;
  EndOfTurnWriter end_of_turn(io.get_executor());
  auto session = std::make_shared<EngineIoSession>("s3", asio::make_strand(io), options, listener,
                                                   end_of_turn);
  session->send(make_message("2[\"a\"]"));
  session->send(make_message("2[\"b\"]"));
  std::optional<std::string> payload;
  asio::co_spawn(io, poll_once(session, &payload), asio::detached);
  io.run_for(200ms);
  ASSERT_TRUE(payload);
  EXPECT_EQ(*payload,
            "42[\"a\"]\x1e"
            "42[\"b\"]");
  // Packets the client POSTs reach the listener; a client ping is a protocol error.
  EXPECT_TRUE(
      session->receive_payload("42[\"x\"]\x1e"
                               "3"));
  ASSERT_EQ(listener.messages.size(), 1u);
  EXPECT_EQ(listener.messages[0], "2[\"x\"]");
  EXPECT_FALSE(session->receive_payload("2"));
  EXPECT_EQ(listener.closes.size(), 1u);
}

}  // namespace
}  // namespace parley::realtime
