// libFuzzer target for the Socket.IO v5 codec (STYLE habit 9: parsers of untrusted input are
// fuzzed). Every Engine.IO message from a client reaches decode().
// fuzz-sources: src/realtime/protocol/socketio_packet.cpp
// fuzz-sources: src/realtime/protocol/engineio_packet.cpp src/core/base64.cpp src/core/error.cpp
// fuzz-libs: -lboost_json
//
// Besides not crashing: an accepted packet satisfies the documented invariants, completes
// through BinaryReassembler with exactly the announced attachments, re-encodes to text that
// decodes to the same packet (and re-encodes identically), and for text events the
// encode_event fast path produces the same bytes as the DOM encoder.

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "realtime/protocol/socketio_packet.hpp"

namespace {

namespace rt = parley::realtime;

constexpr std::uint64_t kMaxSafeInteger = (std::uint64_t{1} << 53) - 1;

rt::SioLimits fuzz_limits() {
  rt::SioLimits limits;
  limits.max_attachments = 10;
  limits.max_json_depth = 32;
  limits.max_packet_bytes = 1 << 16;
  return limits;
}

// Boost.JSON 1.81 does not parse every decimal to the nearest double (precise parsing came in
// 1.83), so a double can move by an ulp or two through serialize and parse; everything else
// must round-trip exactly.
bool same_json(const boost::json::value& a, const boost::json::value& b) {
  if (a.is_double() && b.is_double()) {
    const double x = a.get_double();
    const double y = b.get_double();
    return x == y || std::fabs(x - y) <= 1e-14 * std::max(std::fabs(x), std::fabs(y));
  }
  if (a.is_array() && b.is_array()) {
    const auto& left = a.get_array();
    const auto& right = b.get_array();
    if (left.size() != right.size()) return false;
    for (std::size_t i = 0; i < left.size(); ++i) {
      if (!same_json(left[i], right[i])) return false;
    }
    return true;
  }
  if (a.is_object() && b.is_object()) {
    const auto& left = a.get_object();
    const auto& right = b.get_object();
    if (left.size() != right.size()) return false;
    for (const auto& member : left) {
      const auto* other = right.if_contains(member.key());
      if (other == nullptr || !same_json(member.value(), *other)) return false;
    }
    return true;
  }
  return a == b;
}

bool has_double(const boost::json::value& value) {
  if (value.is_double()) return true;
  if (const auto* array = value.if_array()) {
    return std::any_of(array->begin(), array->end(), has_double);
  }
  if (const auto* object = value.if_object()) {
    return std::any_of(object->begin(), object->end(),
                       [](const auto& member) { return has_double(member.value()); });
  }
  return false;
}

bool same_packet(const rt::SioPacket& a, const rt::SioPacket& b) {
  return a.type == b.type && a.nsp == b.nsp && a.id == b.id && a.attachments == b.attachments &&
         same_json(a.data, b.data);
}

// Checks the fast path against the DOM encoder for a complete text EVENT with a string name.
void check_encode_event(const rt::SioPacket& packet, const std::string& canonical) {
  if (packet.type != rt::SioType::event || !packet.data.at(0).is_string()) return;
  const auto& args = packet.data.get_array();
  std::string rest;
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (i > 1) rest += ',';
    rest += boost::json::serialize(args[i]);
  }
  const std::string fast = rt::encode_event(packet.nsp, args[0].get_string(), rest, packet.id);
  if (fast != "4" + canonical) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto limits = fuzz_limits();

  const auto decoded = rt::decode(input, limits);
  if (!decoded) {
    if (decoded.error().code != parley::Errc::invalid_request || decoded.error().message.empty()) {
      std::abort();
    }
    return 0;
  }

  // Documented invariants of an accepted packet.
  const rt::SioPacket& packet = decoded->packet;
  if (rt::is_binary(packet.type) == decoded->complete()) std::abort();
  if (decoded->missing_attachments > limits.max_attachments) std::abort();
  if (packet.nsp.empty() || packet.nsp.front() != '/') std::abort();
  if (packet.id && *packet.id > kMaxSafeInteger) std::abort();
  if (!packet.attachments.empty()) std::abort();
  // Placeholder-shaped objects are ordinary data in text packets (as in Node), so only binary
  // packets promise a valid numbering.
  if (rt::is_binary(packet.type) &&
      !rt::validate_placeholders(packet.data, decoded->missing_attachments)) {
    std::abort();
  }

  // Complete it with exactly the announced number of attachments.
  rt::SioPacket full = packet;
  if (!decoded->complete()) {
    rt::BinaryReassembler reassembler;
    if (!reassembler.start(*decoded)) std::abort();
    for (std::size_t i = 0; i < decoded->missing_attachments; ++i) {
      auto step = reassembler.add(std::string(i, '\xab'));
      if (!step) std::abort();
      const bool last = i + 1 == decoded->missing_attachments;
      if (step->has_value() != last) std::abort();
      if (last) full = std::move(**step);
    }
    if (reassembler.in_progress() || reassembler.add("extra")) std::abort();
    std::size_t placeholders = 0;
    rt::for_each_placeholder(full.data, [&](std::size_t num, boost::json::value&) {
      if (num >= full.attachments.size()) std::abort();
      ++placeholders;
    });
    if (placeholders != full.attachments.size()) std::abort();
  }

  // Round trip. Re-serialized JSON may be longer than the input ("0.1" becomes "1E-1").
  std::string text;
  rt::append_encoded(text, full);
  auto relaxed = limits;
  relaxed.max_packet_bytes = text.size();
  auto again = rt::decode(text, relaxed);
  if (!again || again->missing_attachments != decoded->missing_attachments) std::abort();
  again->packet.attachments = full.attachments;
  if (!same_packet(again->packet, full)) std::abort();
  if (!has_double(full.data)) {
    std::string text_again;
    rt::append_encoded(text_again, again->packet);
    if (text_again != text) std::abort();
  }
  if (rt::encode_message(full) != "4" + text) std::abort();

  check_encode_event(full, text);
  return 0;
}
