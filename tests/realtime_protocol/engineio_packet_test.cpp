#include "realtime/protocol/engineio_packet.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace parley::realtime {
namespace {

EioPacket text(EioType type, std::string data = {}) {
  return EioPacket{type, std::move(data), false};
}

EioPacket bin(std::string data) { return EioPacket{EioType::message, std::move(data), true}; }

void expect_invalid(std::string_view frame) {
  const auto packet = decode_text(frame);
  ASSERT_FALSE(packet) << "accepted: " << frame;
  EXPECT_EQ(packet.error().code, Errc::invalid_request);
  EXPECT_FALSE(packet.error().message.empty());
}

TEST(EngineIoPacket, EncodesTypeCharacterAndData) {
  EXPECT_EQ(encode_text(text(EioType::ping)), "2");
  EXPECT_EQ(encode_text(text(EioType::pong, "probe")), "3probe");
  EXPECT_EQ(encode_text(text(EioType::message, "hello")), "4hello");
  EXPECT_EQ(encode_text(text(EioType::message, R"(2["foo"])")), R"(42["foo"])");
  EXPECT_EQ(encode_text(text(EioType::upgrade)), "5");
  EXPECT_EQ(encode_text(text(EioType::noop)), "6");
  EXPECT_EQ(encode_text(text(EioType::close)), "1");
  EXPECT_EQ(encode_text(text(EioType::open, R"({"sid":"x"})")), R"(0{"sid":"x"})");
}

TEST(EngineIoPacket, BinaryMessagesUseBase64OnPolling) {
  // The engine.io-protocol example: the bytes 01 02 03 04 travel as "bAQIDBA==".
  EXPECT_EQ(encode_text(bin(std::string("\x01\x02\x03\x04", 4))), "bAQIDBA==");
  EXPECT_EQ(encode_text(bin("")), "b");
  const auto decoded = decode_text("bAQIDBA==");
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, bin(std::string("\x01\x02\x03\x04", 4)));
  // Unpadded base64 is accepted too (some encoders omit padding).
  const auto unpadded = decode_text("bAQIDBA");
  ASSERT_TRUE(unpadded);
  EXPECT_EQ(unpadded->data, std::string("\x01\x02\x03\x04", 4));
  ASSERT_TRUE(decode_text("b"));
  EXPECT_EQ(*decode_text("b"), bin(""));
}

TEST(EngineIoPacket, AppendTextAppendsToExistingBuffer) {
  std::string out = "prefix:";
  append_text(out, text(EioType::message, "a"));
  append_text(out, bin("\xff"));
  EXPECT_EQ(out, "prefix:4ab/w==");
}

TEST(EngineIoPacket, DecodesEveryType) {
  const std::vector<std::pair<std::string, EioPacket>> cases = {
      {"0{\"sid\":\"abc\"}", text(EioType::open, "{\"sid\":\"abc\"}")},
      {"1", text(EioType::close)},
      {"2", text(EioType::ping)},
      {"2probe", text(EioType::ping, "probe")},
      {"3", text(EioType::pong)},
      {"3probe", text(EioType::pong, "probe")},
      {"4", text(EioType::message)},
      {"4hello \xc3\xa9", text(EioType::message, "hello \xc3\xa9")},
      {"5", text(EioType::upgrade)},
      {"6", text(EioType::noop)},
  };
  for (const auto& [frame, expected] : cases) {
    const auto packet = decode_text(frame);
    ASSERT_TRUE(packet) << frame << ": " << packet.error().message;
    EXPECT_EQ(*packet, expected) << frame;
    EXPECT_EQ(encode_text(*packet), frame);
  }
}

TEST(EngineIoPacket, RejectsMalformedFrames) {
  expect_invalid("");
  expect_invalid("7");
  expect_invalid("9");
  expect_invalid("x");
  expect_invalid(std::string_view("\0", 1));
  expect_invalid("1x");  // close takes no data
  expect_invalid("5probe");
  expect_invalid("6 ");
  expect_invalid("2ping");  // only the probe string
  expect_invalid("3probe2");
  expect_invalid("b!!!!");  // not base64
  expect_invalid("bAQID$A==");
  expect_invalid("bA");          // impossible length
  expect_invalid("bAQIDBA===");  // over-padded
  expect_invalid("bAQ=IDBA");    // padding in the middle
  expect_invalid("b====");
}

TEST(EngineIoPacket, BinaryFrameIsBinaryMessage) {
  EXPECT_EQ(decode_binary_frame(std::string_view("\x00\x01", 2)), bin(std::string("\x00\x01", 2)));
  EXPECT_EQ(decode_binary_frame(""), bin(""));
}

TEST(EngineIoPacket, PayloadJoinsWithRecordSeparator) {
  const std::vector<EioPacket> packets = {text(EioType::message, "hello"), bin("\x01\x02\x03\x04"),
                                          text(EioType::ping)};
  const std::string body = encode_payload(packets);
  EXPECT_EQ(body,
            "4hello\x1e"
            "bAQIDBA==\x1e"
            "2");
  const auto decoded = decode_payload(body, 16);
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(*decoded, packets);

  EXPECT_EQ(encode_payload({}), "");
  const std::vector<EioPacket> one = {text(EioType::noop)};
  EXPECT_EQ(encode_payload(one), "6");

  std::string out = "x";
  append_payload(out, packets);
  EXPECT_EQ(out, "x" + body);
}

TEST(EngineIoPacket, DecodesProtocolDocPayload) {
  // From the engine.io-protocol docs: "4hello\x1e4€" and a mixed text/binary payload.
  const auto decoded = decode_payload(
      "4hello\x1e"
      "4\xe2\x82\xac",
      16);
  ASSERT_TRUE(decoded);
  ASSERT_EQ(decoded->size(), 2u);
  EXPECT_EQ((*decoded)[1], text(EioType::message, "\xe2\x82\xac"));
  const auto mixed = decode_payload(
      "4\xe2\x82\xac\x1e"
      "bAQIDBA==",
      16);
  ASSERT_TRUE(mixed);
  EXPECT_EQ((*mixed)[1], bin("\x01\x02\x03\x04"));
}

TEST(EngineIoPacket, RejectsMalformedPayloads) {
  const auto expect_bad = [](std::string_view body, std::size_t max) {
    const auto decoded = decode_payload(body, max);
    ASSERT_FALSE(decoded) << "accepted: " << body;
    EXPECT_EQ(decoded.error().code, Errc::invalid_request);
  };
  expect_bad("", 16);
  expect_bad("\x1e", 16);    // two empty segments
  expect_bad("4a\x1e", 16);  // trailing separator
  expect_bad(
      "\x1e"
      "4a",
      16);  // leading separator
  expect_bad(
      "4a\x1e\x1e"
      "4b",
      16);  // doubled separator
  expect_bad(
      "4a\x1e"
      "7",
      16);  // unknown type in the second packet
  expect_bad(
      "4a\x1e"
      "b!",
      16);  // bad base64 in the second packet
  expect_bad(
      "4a\x1e"
      "4b\x1e"
      "4c",
      2);  // too many packets
  EXPECT_TRUE(
      decode_payload("4a\x1e"
                     "4b",
                     2));
}

}  // namespace
}  // namespace parley::realtime
