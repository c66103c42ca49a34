// libFuzzer target for the Engine.IO v4 codec (STYLE habit 9: parsers of untrusted input are
// fuzzed). Every long-polling POST body and WebSocket frame from a client reaches these decoders.
// fuzz-sources: src/realtime/protocol/engineio_packet.cpp src/core/base64.cpp src/core/error.cpp
//
// The input is decoded as a polling payload, as one text frame and as one binary frame. Besides
// not crashing, whatever decodes must re-encode to something that decodes to the same packets,
// and a single frame (no separator) must be accepted by both decoders or by neither.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "realtime/protocol/engineio_packet.hpp"

namespace {

using parley::realtime::EioPacket;
using parley::realtime::EioType;

constexpr std::size_t kMaxPackets = 64;

void check_error(const parley::Error& error) {
  if (error.code != parley::Errc::invalid_request || error.message.empty()) std::abort();
}

void check_packet(const EioPacket& packet) {
  if (packet.binary && packet.type != EioType::message) std::abort();
  const auto again = parley::realtime::decode_text(parley::realtime::encode_text(packet));
  if (!again || *again != packet) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  const auto packets = parley::realtime::decode_payload(input, kMaxPackets);
  if (packets) {
    if (packets->empty() || packets->size() > kMaxPackets) std::abort();
    for (const auto& packet : *packets) check_packet(packet);
    const auto again =
        parley::realtime::decode_payload(parley::realtime::encode_payload(*packets), kMaxPackets);
    if (!again || *again != *packets) std::abort();
  } else {
    check_error(packets.error());
  }

  const auto frame = parley::realtime::decode_text(input);
  if (frame) {
    check_packet(*frame);
  } else {
    check_error(frame.error());
  }
  if (input.find(parley::realtime::kEioRecordSeparator) == std::string_view::npos &&
      static_cast<bool>(frame) != static_cast<bool>(packets)) {
    std::abort();
  }

  const auto binary = parley::realtime::decode_binary_frame(input);
  if (!binary.binary || binary.type != EioType::message || binary.data != input) std::abort();
  return 0;
}
