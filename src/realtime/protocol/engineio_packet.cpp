#include "realtime/protocol/engineio_packet.hpp"

#include <algorithm>
#include <utility>

#include "core/base64.hpp"

namespace parley::realtime {

namespace {

// Exact length of append_text's output, so payloads can reserve once.
std::size_t text_size(const EioPacket& packet) noexcept {
  if (packet.binary) return 1 + (packet.data.size() + 2) / 3 * 4;
  return 1 + packet.data.size();
}

// core::base64_decode tolerates any number of trailing '='; clients always send canonical
// padding (or none), so anything else is a malformed packet rather than something to guess at.
bool well_padded(std::string_view text) noexcept {
  const auto last = text.find_last_not_of('=');
  const std::size_t padding = last == std::string_view::npos ? text.size() : text.size() - last - 1;
  if (padding == 0) return true;
  return padding <= 2 && text.size() % 4 == 0;
}

}  // namespace

void append_text(std::string& out, const EioPacket& packet) {
  if (packet.binary) {
    out += 'b';
    out += core::base64_encode(packet.data);
    return;
  }
  out += static_cast<char>(packet.type);
  out += packet.data;
}

std::string encode_text(const EioPacket& packet) {
  std::string out;
  out.reserve(text_size(packet));
  append_text(out, packet);
  return out;
}

Result<EioPacket> decode_text(std::string_view frame) {
  if (frame.empty()) return fail(Errc::invalid_request, "empty Engine.IO packet");
  const char head = frame.front();
  const std::string_view data = frame.substr(1);
  if (head == 'b') {
    auto bytes = well_padded(data) ? core::base64_decode(data) : std::nullopt;
    if (!bytes) return fail(Errc::invalid_request, "invalid base64 in Engine.IO binary packet");
    return EioPacket{EioType::message, std::move(*bytes), true};
  }
  switch (head) {
    case '0':
    case '4':
      // Open data is the server's handshake JSON and message data belongs to the layer above;
      // neither is this codec's business.
      break;
    case '2':
    case '3':
      if (!data.empty() && data != kEioProbe) {
        return fail(Errc::invalid_request, "unexpected data in Engine.IO ping/pong");
      }
      break;
    case '1':
    case '5':
    case '6':
      if (!data.empty()) return fail(Errc::invalid_request, "unexpected data in Engine.IO packet");
      break;
    default:
      return fail(Errc::invalid_request, "unknown Engine.IO packet type");
  }
  return EioPacket{static_cast<EioType>(head), std::string(data), false};
}

EioPacket decode_binary_frame(std::string_view bytes) {
  return EioPacket{EioType::message, std::string(bytes), true};
}

void append_payload(std::string& out, std::span<const EioPacket> packets) {
  std::size_t total = out.size();
  for (const auto& packet : packets) total += text_size(packet) + 1;
  out.reserve(total);
  bool first = true;
  for (const auto& packet : packets) {
    if (!first) out += kEioRecordSeparator;
    first = false;
    append_text(out, packet);
  }
}

std::string encode_payload(std::span<const EioPacket> packets) {
  std::string out;
  append_payload(out, packets);
  return out;
}

Result<std::vector<EioPacket>> decode_payload(std::string_view body, std::size_t max_packets) {
  if (body.empty()) return fail(Errc::invalid_request, "empty Engine.IO payload");
  const auto count =
      static_cast<std::size_t>(std::count(body.begin(), body.end(), kEioRecordSeparator)) + 1;
  if (count > max_packets) return fail(Errc::invalid_request, "too many Engine.IO packets");
  std::vector<EioPacket> packets;
  packets.reserve(count);
  while (true) {
    const auto end = body.find(kEioRecordSeparator);
    auto packet = decode_text(body.substr(0, end));
    if (!packet) return packet.error();
    packets.push_back(std::move(*packet));
    if (end == std::string_view::npos) break;
    body.remove_prefix(end + 1);
  }
  return packets;
}

}  // namespace parley::realtime
