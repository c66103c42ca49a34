#include "realtime/protocol/socketio_packet.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <string>
#include <vector>

namespace parley::realtime {
namespace {

boost::json::value json(std::string_view text) { return boost::json::parse(text); }

SioPacket decode_ok(std::string_view text, const SioLimits& limits = {}) {
  auto decoded = decode(text, limits);
  EXPECT_TRUE(decoded) << text << ": " << (decoded ? "" : decoded.error().message);
  if (!decoded) return {};
  EXPECT_TRUE(decoded->complete()) << text;
  return std::move(decoded->packet);
}

std::string encoded(const SioPacket& packet) {
  std::string out;
  append_encoded(out, packet);
  return out;
}

void expect_invalid(std::string_view text, const SioLimits& limits = {}) {
  const auto decoded = decode(text, limits);
  ASSERT_FALSE(decoded) << "accepted: " << text;
  EXPECT_EQ(decoded.error().code, Errc::invalid_request);
  EXPECT_FALSE(decoded.error().message.empty());
}

// Every example from the socket.io-protocol document round-trips to the same text.
TEST(SocketIoPacket, ProtocolDocExamplesRoundTrip) {
  for (const std::string_view text :
       {"0", "0/admin,", R"(0/admin,{"token":"123"})", R"(0{"token":"123"})", "1", "1/admin,",
        R"(2["foo"])", R"(2["hello",1])", R"(2/admin,["bar"])",
        R"(2/admin,456["project:delete",123])", R"(212["hello"])", R"(3/admin,456[])",
        R"(312["hi"])", R"(4{"message":"Not authorized"})",
        R"(4/admin,{"message":"Not authorized","data":{"reason":"x"}})",
        R"(2[42,"numeric name"])"}) {
    const auto packet = decode_ok(text);
    EXPECT_EQ(encoded(packet), text);
  }
}

TEST(SocketIoPacket, DecodesFields) {
  const auto connect = decode_ok(R"(0/admin,{"token":"123"})");
  EXPECT_EQ(connect.type, SioType::connect);
  EXPECT_EQ(connect.nsp, "/admin");
  EXPECT_FALSE(connect.id);
  EXPECT_EQ(connect.data, json(R"({"token":"123"})"));

  const auto plain = decode_ok("0");
  EXPECT_EQ(plain.nsp, "/");
  EXPECT_TRUE(plain.data.is_null());

  const auto event = decode_ok(R"(2/admin,456["project:delete",123])");
  EXPECT_EQ(event.type, SioType::event);
  EXPECT_EQ(event.nsp, "/admin");
  EXPECT_EQ(event.id, 456u);
  EXPECT_EQ(event.data, json(R"(["project:delete",123])"));

  const auto ack = decode_ok("3/admin,456[]");
  EXPECT_EQ(ack.type, SioType::ack);
  EXPECT_EQ(ack.id, 456u);
  EXPECT_EQ(ack.data, json("[]"));

  const auto zero_id = decode_ok(R"(20["x"])");
  EXPECT_EQ(zero_id.id, 0u);

  const auto error = decode_ok(R"(4{"message":"Not authorized"})");
  EXPECT_EQ(error.type, SioType::connect_error);

  const auto disconnect = decode_ok("1/admin,");
  EXPECT_EQ(disconnect.type, SioType::disconnect);
  EXPECT_EQ(disconnect.nsp, "/admin");

  // "/" written out is the same namespace; it re-encodes canonically.
  const auto explicit_root = decode_ok(R"(2/,["x"])");
  EXPECT_EQ(explicit_root.nsp, "/");
  EXPECT_EQ(encoded(explicit_root), R"(2["x"])");

  // The largest safe JavaScript integer is a valid ack id.
  EXPECT_EQ(decode_ok(R"(29007199254740991["x"])").id, 9007199254740991u);
}

TEST(SocketIoPacket, BinaryEventNeedsAttachments) {
  const auto decoded = decode(R"(51-["foo",{"_placeholder":true,"num":0}])");
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_FALSE(decoded->complete());
  EXPECT_EQ(decoded->missing_attachments, 1u);
  EXPECT_EQ(decoded->packet.type, SioType::binary_event);
  EXPECT_TRUE(decoded->packet.attachments.empty());
  EXPECT_EQ(decoded->packet.data, json(R"(["foo",{"_placeholder":true,"num":0}])"));

  BinaryReassembler reassembler;
  EXPECT_FALSE(reassembler.in_progress());
  ASSERT_TRUE(reassembler.start(*decoded));
  EXPECT_TRUE(reassembler.in_progress());
  EXPECT_EQ(reassembler.remaining(), 1u);
  auto done = reassembler.add(std::string("\x01\x02", 2));
  ASSERT_TRUE(done);
  ASSERT_TRUE(done->has_value());
  const SioPacket& packet = **done;
  EXPECT_EQ(packet.attachments, std::vector<std::string>{std::string("\x01\x02", 2)});
  EXPECT_FALSE(reassembler.in_progress());
  EXPECT_EQ(encoded(packet), R"(51-["foo",{"_placeholder":true,"num":0}])");
}

TEST(SocketIoPacket, BinaryAckWithNamespace) {
  const auto decoded = decode(R"(61-/admin,456[{"_placeholder":true,"num":0}])");
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(decoded->packet.type, SioType::binary_ack);
  EXPECT_EQ(decoded->packet.nsp, "/admin");
  EXPECT_EQ(decoded->packet.id, 456u);
  EXPECT_EQ(decoded->missing_attachments, 1u);
  SioPacket packet = decoded->packet;
  packet.attachments = {"blob"};
  EXPECT_EQ(encoded(packet), R"(61-/admin,456[{"_placeholder":true,"num":0}])");
}

TEST(SocketIoPacket, ReassemblesSeveralAttachmentsInOrder) {
  const auto decoded =
      decode(R"(53-["upload",{"a":[{"_placeholder":true,"num":2}]},{"_placeholder":true,"num":0},)"
             R"({"_placeholder":true,"num":1}])");
  ASSERT_TRUE(decoded) << decoded.error().message;
  BinaryReassembler reassembler;
  ASSERT_TRUE(reassembler.start(*decoded));
  for (const char* part : {"zero", "one"}) {
    auto step = reassembler.add(part);
    ASSERT_TRUE(step);
    EXPECT_FALSE(step->has_value());
  }
  auto last = reassembler.add("two");
  ASSERT_TRUE(last && last->has_value());
  SioPacket packet = std::move(**last);

  std::vector<std::size_t> order;
  for_each_placeholder(packet.data, [&](std::size_t num, boost::json::value& placeholder) {
    order.push_back(num);
    placeholder = packet.attachments.at(num);  // e.g. swap in a reference to stored media
  });
  EXPECT_EQ(order, (std::vector<std::size_t>{2, 0, 1}));
  EXPECT_EQ(packet.data, json(R"(["upload",{"a":["two"]},"zero","one"])"));
}

TEST(SocketIoPacket, ReassemblerRejectsOutOfSequenceInput) {
  BinaryReassembler reassembler;
  EXPECT_FALSE(reassembler.add("stray"));  // binary data with nothing pending

  const auto decoded =
      decode(R"(52-["x",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])");
  ASSERT_TRUE(decoded);
  ASSERT_TRUE(reassembler.start(*decoded));
  ASSERT_TRUE(reassembler.add("a"));
  // A second binary packet before the first completed.
  EXPECT_FALSE(reassembler.start(*decoded));
  EXPECT_FALSE(reassembler.in_progress());

  // A complete packet is not something to reassemble.
  const auto plain = decode(R"(2["x"])");
  ASSERT_TRUE(plain);
  EXPECT_FALSE(reassembler.start(*plain));

  // reset() drops a pending packet.
  ASSERT_TRUE(reassembler.start(*decoded));
  reassembler.reset();
  EXPECT_FALSE(reassembler.in_progress());
  EXPECT_EQ(reassembler.remaining(), 0u);
}

TEST(SocketIoPacket, RejectsMalformedPackets) {
  expect_invalid("");
  expect_invalid("7");
  expect_invalid("9[\"x\"]");
  expect_invalid("a");
  expect_invalid(R"(/admin,["x"])");
  // Attachment counts on non-binary types.
  expect_invalid(R"(21-["foo",{"_placeholder":true,"num":0}])");
  expect_invalid("01-");
  expect_invalid(R"(31-1[{"_placeholder":true,"num":0}])");
  // Binary types: missing count, missing '-', zero, leading zeros, too many.
  expect_invalid(R"(5["foo"])");
  expect_invalid(R"(51["foo",{"_placeholder":true,"num":0}])");
  expect_invalid(R"(5-["foo"])");
  expect_invalid(R"(50-["foo"])");
  expect_invalid(R"(501-["foo",{"_placeholder":true,"num":0}])");
  expect_invalid(R"(511-["foo"])");
  expect_invalid(R"(599999999999999999999999999-["foo"])");
  expect_invalid("51-");
  // Namespace without its comma, or with control characters.
  expect_invalid("1/admin");
  expect_invalid(R"(2/admin["x"])");
  expect_invalid("0/admin");
  expect_invalid("1/ad\nmin,");
  expect_invalid("1/ad\x7fmin,");
  expect_invalid("1/\xc4\xc4,");          // invalid UTF-8
  expect_invalid("1/\xc0\xaf,");          // overlong '/'
  expect_invalid("1/\xed\xa0\x80,");      // UTF-16 surrogate
  expect_invalid("1/\xf4\x90\x80\x80,");  // above U+10FFFF
  expect_invalid("1/\xe2\x82,");          // truncated
  EXPECT_EQ(decode_ok("1/caf\xc3\xa9-\xe2\x82\xac-\xf0\x9f\x98\x80,").nsp,
            "/caf\xc3\xa9-\xe2\x82\xac-\xf0\x9f\x98\x80");
  // Payload shapes.
  expect_invalid(R"(2{"foo":1})");  // event payload not an array
  expect_invalid(R"(2"foo")");      // not an array either
  expect_invalid("2[]");            // empty array
  expect_invalid("2");              // no payload
  expect_invalid(R"(2[{"a":1}])");  // first element an object
  expect_invalid(R"(2[["a"]])");    // first element an array
  expect_invalid("2[null]");
  expect_invalid("2[true]");
  for (const char* name : {"connect", "connect_error", "disconnect", "disconnecting", "newListener",
                           "removeListener"}) {
    expect_invalid(std::string(R"(2[")") + name + R"("])");
  }
  expect_invalid("0[]");  // CONNECT payload must be an object
  expect_invalid(R"(0"token")");
  expect_invalid("1{}");  // DISCONNECT takes no payload
  expect_invalid("1/admin,{}");
  expect_invalid(R"(4"Not authorized")");  // CONNECT_ERROR must be an object
  expect_invalid("4");
  expect_invalid(R"(3/admin,456{})");  // ACK payload must be an array
  expect_invalid("3/admin,456");       // ACK without payload
  expect_invalid("3[]");               // ACK without id
  // Ack ids.
  expect_invalid(R"(29007199254740992["x"])");  // 2^53
  expect_invalid(R"(218446744073709551616["x"])");
  expect_invalid(R"(2999999999999999999999999999999["x"])");
  expect_invalid(R"(2007["x"])");  // leading zeros
  expect_invalid(R"(012{})");      // id on CONNECT
  expect_invalid("112");           // id on DISCONNECT
  expect_invalid(R"(412{"message":"x"})");
  // JSON syntax, depth and trailing bytes.
  expect_invalid(R"(2["foo")");
  expect_invalid(R"(2["foo"]x)");
  expect_invalid(R"(2["foo"] )");
  expect_invalid(R"(2 ["foo"])");
  expect_invalid(R"(2["foo"]["bar"])");
  expect_invalid(R"(2["foo"]])");
  expect_invalid(R"(2["foo",])");
  expect_invalid("2[\"\xff\"]");  // invalid UTF-8
  // Boost.JSON reads these as infinite doubles and would write them back as `Infinity`.
  expect_invalid(R"(2["t",1e400])");
  expect_invalid(R"(2["t",{"a":[-2e16625324]}])");
  expect_invalid(R"(0{"a":1e999})");
  std::string deep = R"(2["foo",)";
  deep += std::string(40, '[') + std::string(40, ']') + "]";
  expect_invalid(deep);
}

// The message names the rule that was broken, for the server's log.
TEST(SocketIoPacket, RejectionReasons) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"", "empty"},
      {"7", "unknown Socket.IO packet type"},
      {R"(21-["foo",{"_placeholder":true,"num":0}])", "attachment count on a non-binary packet"},
      {R"(51["foo",{"_placeholder":true,"num":0}])", "missing '-'"},
      {"1/admin", "namespace without ','"},
      {R"(2{"foo":1})", "non-empty array"},
      {"2[]", "non-empty array"},
      {R"(2["disconnect"])", "reserved event name"},
      {R"(2[{"a":1}])", "event name must be a string or number"},
      {R"(29007199254740992["x"])", "ack id too large"},
      {R"(2["foo"]x)", "trailing bytes"},
      {R"(2["foo"]["bar"])", "trailing bytes"},
      {R"(51-["foo",{"_placeholder":true,"num":1}])", "out of range"},
      {R"(52-["foo",{"_placeholder":true,"num":0},{"_placeholder":true,"num":0}])", "duplicate"},
      {R"(511-["foo"])", "too many attachments"},
      {"3[]", "ACK without id"},
      {"1{}", "DISCONNECT"},
      {R"(2["t",1e400])", "number out of range"},
  };
  for (const auto& [text, reason] : cases) {
    const auto decoded = decode(text);
    ASSERT_FALSE(decoded) << text;
    EXPECT_NE(decoded.error().message.find(reason), std::string::npos)
        << text << ": " << decoded.error().message;
  }
  std::string deep = R"(2["foo",)" + std::string(40, '[') + std::string(40, ']') + "]";
  const auto too_deep = decode(deep);
  ASSERT_FALSE(too_deep);
  EXPECT_EQ(too_deep.error().message, "JSON payload nested too deeply");
}

TEST(SocketIoPacket, LimitsAreConfigurable) {
  SioLimits limits;
  limits.max_json_depth = 4;
  EXPECT_TRUE(decode(R"(2["a",[[1]]])", limits));
  expect_invalid(R"(2["a",[[[[1]]]]])", limits);

  limits = SioLimits{};
  limits.max_packet_bytes = 10;
  EXPECT_TRUE(decode(R"(2["abcd"])", limits));
  expect_invalid(R"(2["abcdef"])", limits);

  limits = SioLimits{};
  limits.max_attachments = 2;
  EXPECT_TRUE(
      decode(R"(52-["x",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])", limits));
  expect_invalid(R"(53-["x",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1},)"
                 R"({"_placeholder":true,"num":2}])",
                 limits);
}

TEST(SocketIoPacket, RejectsBadPlaceholders) {
  expect_invalid(R"(51-["foo",{"_placeholder":true,"num":1}])");   // out of range
  expect_invalid(R"(51-["foo",{"_placeholder":true,"num":-1}])");  // negative
  expect_invalid(R"(51-["foo",{"_placeholder":true,"num":0.5}])");
  expect_invalid(R"(51-["foo",{"_placeholder":true,"num":"0"}])");
  expect_invalid(R"(51-["foo",{"_placeholder":true}])");
  expect_invalid(R"(51-["foo"])");                                // unused attachment
  expect_invalid(R"(52-["foo",{"_placeholder":true,"num":0}])");  // num 1 missing
  expect_invalid(R"(52-["foo",{"_placeholder":true,"num":0},{"_placeholder":true,"num":0}])");
  expect_invalid(
      R"(52-["foo",{"x":{"_placeholder":true,"num":1}},[{"_placeholder":true,"num":1}]])");
  // `"_placeholder": false` is ordinary data, so the attachment is unused.
  expect_invalid(R"(51-["foo",{"_placeholder":false,"num":0}])");
}

TEST(SocketIoPacket, PlaceholderHelpers) {
  EXPECT_TRUE(is_placeholder(json(R"({"_placeholder":true,"num":3})")));
  EXPECT_FALSE(is_placeholder(json(R"({"_placeholder":1,"num":3})")));
  EXPECT_FALSE(is_placeholder(json("[1]")));
  EXPECT_EQ(placeholder_num(json(R"({"_placeholder":true,"num":3})")), 3u);
  EXPECT_FALSE(placeholder_num(json(R"({"_placeholder":true,"num":-3})")));
  EXPECT_TRUE(validate_placeholders(json(R"([1,2])"), 0));
  EXPECT_TRUE(validate_placeholders(
      json(R"({"b":{"_placeholder":true,"num":1},"a":[{"_placeholder":true,"num":0}]})"), 2));
  EXPECT_FALSE(validate_placeholders(json(R"([{"_placeholder":true,"num":0}])"), 0));
}

TEST(SocketIoPacket, EncodesPackets) {
  SioPacket connect_reply;
  connect_reply.type = SioType::connect;
  connect_reply.nsp = "/admin";
  connect_reply.data = json(R"({"sid":"abc"})");
  EXPECT_EQ(encode_message(connect_reply), R"(40/admin,{"sid":"abc"})");

  SioPacket invalid_nsp;
  invalid_nsp.type = SioType::connect_error;
  invalid_nsp.nsp = "/nope";
  invalid_nsp.data = json(R"({"message":"Invalid namespace"})");
  EXPECT_EQ(encode_message(invalid_nsp), R"(44/nope,{"message":"Invalid namespace"})");

  SioPacket leave;
  leave.type = SioType::disconnect;
  EXPECT_EQ(encode_message(leave), "41");

  SioPacket ack;
  ack.type = SioType::ack;
  ack.id = 12;
  ack.data = boost::json::array{};
  EXPECT_EQ(encode_message(ack), "4312[]");

  // append_encoded appends to a reused buffer, including JSON larger than its spare capacity.
  SioPacket big;
  big.data = boost::json::array{"news", std::string(5000, 'x')};
  std::string out = "keep";
  append_encoded(out, big);
  EXPECT_EQ(out, "keep" + std::string(R"(2["news",")") + std::string(5000, 'x') + "\"]");
  EXPECT_EQ(decode_ok(std::string_view(out).substr(4)), big);
}

TEST(SocketIoPacket, ToEngineIoSendsAttachmentsAfterText) {
  SioPacket packet;
  packet.type = SioType::binary_event;
  packet.data = json(R"(["file",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])");
  packet.attachments = {std::string("\x00\x01", 2), "second"};
  const auto eio = to_engineio(packet);
  ASSERT_EQ(eio.size(), 3u);
  EXPECT_EQ(eio[0],
            (EioPacket{EioType::message,
                       R"(52-["file",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])",
                       false}));
  EXPECT_EQ(eio[1], (EioPacket{EioType::message, std::string("\x00\x01", 2), true}));
  EXPECT_EQ(eio[2], (EioPacket{EioType::message, "second", true}));
  // On polling the whole thing is one payload.
  EXPECT_EQ(encode_payload(eio),
            "452-[\"file\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]"
            "\x1e"
            "bAAE=\x1e"
            "bc2Vjb25k");
}

TEST(SocketIoPacket, EncodeEventFastPath) {
  EXPECT_EQ(encode_event("/", "foo", ""), R"(42["foo"])");
  EXPECT_EQ(encode_event("", "news", R"(1,{"a":true})"), R"(42["news",1,{"a":true}])");
  EXPECT_EQ(encode_event("/admin", "project:delete", "123", 456),
            R"(42/admin,456["project:delete",123])");
  EXPECT_EQ(encode_event("/", "x", "", 0), R"(420["x"])");
  // The name is escaped as a JSON string.
  const std::string escaped = encode_event("/", "a\"b\\c\n\x01\xc3\xa9", "");
  EXPECT_EQ(escaped, "42[\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\"]");

  // Whatever the fast path builds, the full decoder accepts and reads back identically.
  SioPacket slow;
  slow.nsp = "/chat";
  slow.id = 7;
  slow.data = json(R"(["msg \"quoted\"\ttab",{"text":"hi","n":[1,2]},null])");
  const std::string fast =
      encode_event("/chat", "msg \"quoted\"\ttab", R"({"text":"hi","n":[1,2]},null)", 7);
  EXPECT_EQ(fast, encode_message(slow));
  ASSERT_EQ(fast.front(), '4');
  EXPECT_EQ(decode_ok(std::string_view(fast).substr(1)), slow);
}

}  // namespace
}  // namespace parley::realtime
