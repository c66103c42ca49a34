#include "realtime/protocol/socketio_packet.hpp"

#include <algorithm>
#include <array>
#include <boost/json/error.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/parse_options.hpp>
#include <boost/json/serializer.hpp>
#include <charconv>
#include <cmath>
#include <system_error>

namespace parley::realtime {

namespace {

// Number.MAX_SAFE_INTEGER: larger ids lose precision in the JavaScript client, so an id it
// could send back differently is refused up front.
constexpr std::uint64_t kMaxAckId = (std::uint64_t{1} << 53) - 1;

// Names the Node server reserves for its own events; a client emitting one could trigger
// server-side lifecycle handlers.
constexpr std::array<std::string_view, 6> kReservedEvents = {
    "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"};

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

bool is_control(char c) noexcept {
  const auto byte = static_cast<unsigned char>(c);
  return byte < 0x20 || byte == 0x7f;
}

// RFC 3629 UTF-8 (no overlong forms, surrogates or code points above U+10FFFF). Namespaces are
// echoed back in text frames (CONNECT_ERROR, DISCONNECT), which must be valid UTF-8; polling
// bodies, unlike WebSocket text frames, are not checked by the transport.
bool is_valid_utf8(std::string_view text) noexcept {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    std::size_t length = 0;
    unsigned char min_second = 0x80;
    unsigned char max_second = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) {
      length = 2;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      if (lead == 0xe0) min_second = 0xa0;  // overlong
      if (lead == 0xed) max_second = 0x9f;  // surrogates
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      if (lead == 0xf0) min_second = 0x90;  // overlong
      if (lead == 0xf4) max_second = 0x8f;  // above U+10FFFF
    } else {
      return false;
    }
    if (text.size() - i < length) return false;
    const auto second = static_cast<unsigned char>(text[i + 1]);
    if (second < min_second || second > max_second) return false;
    for (std::size_t k = 2; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if (next < 0x80 || next > 0xbf) return false;
    }
    i += length;
  }
  return true;
}

Error invalid(std::string message) { return fail(Errc::invalid_request, std::move(message)); }

void append_number(std::string& out, std::uint64_t value) {
  std::array<char, 20> buffer{};
  const auto end = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value).ptr;
  out.append(buffer.data(), end);
}

// Serializes straight into `out`'s spare capacity: a broadcast encoded into a reused buffer
// then costs no temporary string.
void append_json(std::string& out, const boost::json::value& value) {
  boost::json::serializer serializer;
  serializer.reset(&value);
  while (!serializer.done()) {
    const std::size_t used = out.size();
    const std::size_t room = std::max<std::size_t>(out.capacity() - used, 256);
    out.resize(used + room);
    const auto written = serializer.read(out.data() + used, room);
    out.resize(used + written.size());
  }
}

// JSON string escaping for encode_event: the characters JSON requires escaped, nothing more
// (UTF-8 passes through, as JSON.stringify does).
void append_json_string(std::string& out, std::string_view text) {
  static constexpr std::string_view kHex = "0123456789abcdef";
  out += '"';
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          const auto byte = static_cast<unsigned char>(c);
          out += "\\u00";
          out += kHex[byte >> 4];
          out += kHex[byte & 0xf];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

// Payload shape per packet type (the protocol checklist); `data` is present here.
Result<void> check_payload(SioType type, const boost::json::value& data) {
  switch (type) {
    case SioType::connect:
      if (!data.is_object()) return invalid("CONNECT payload must be an object");
      return {};
    case SioType::connect_error:
      if (!data.is_object()) return invalid("CONNECT_ERROR payload must be an object");
      return {};
    case SioType::event:
    case SioType::binary_event: {
      const auto* args = data.if_array();
      if (args == nullptr || args->empty()) {
        return invalid("EVENT payload must be a non-empty array");
      }
      const auto& name = args->front();
      if (name.is_number()) return {};
      if (!name.is_string()) return invalid("event name must be a string or number");
      const std::string_view text = name.get_string();
      if (std::find(kReservedEvents.begin(), kReservedEvents.end(), text) !=
          kReservedEvents.end()) {
        return invalid("reserved event name");
      }
      return {};
    }
    case SioType::ack:
    case SioType::binary_ack:
      if (!data.is_array()) return invalid("ACK payload must be an array");
      return {};
    case SioType::disconnect:
      break;
  }
  return invalid("unexpected payload in DISCONNECT");
}

// Boost.JSON 1.81 reads an out-of-range number such as 1e400 as an infinite double but writes
// it back as `Infinity`, which is not JSON: relaying such a payload would hand every recipient a
// packet it cannot parse, so it is refused on the way in.
bool all_numbers_finite(const boost::json::value& data) noexcept {
  if (const auto* number = data.if_double()) return std::isfinite(*number);
  if (const auto* array = data.if_array()) {
    return std::all_of(array->begin(), array->end(), all_numbers_finite);
  }
  if (const auto* object = data.if_object()) {
    return std::all_of(object->begin(), object->end(),
                       [](const auto& member) { return all_numbers_finite(member.value()); });
  }
  return true;
}

// Walks placeholders for validate_placeholders; `seen` has one flag per attachment.
Result<void> check_placeholders(const boost::json::value& data, std::vector<bool>& seen) {
  if (is_placeholder(data)) {
    const auto num = placeholder_num(data);
    if (!num || *num >= seen.size()) return invalid("placeholder num out of range");
    if (seen[*num]) return invalid("duplicate placeholder num");
    seen[*num] = true;
    return {};
  }
  if (const auto* array = data.if_array()) {
    for (const auto& element : *array) {
      if (auto checked = check_placeholders(element, seen); !checked) return checked;
    }
  } else if (const auto* object = data.if_object()) {
    for (const auto& member : *object) {
      if (auto checked = check_placeholders(member.value(), seen); !checked) return checked;
    }
  }
  return {};
}

}  // namespace

bool is_placeholder(const boost::json::value& value) noexcept {
  const auto* object = value.if_object();
  if (object == nullptr) return false;
  const auto* flag = object->if_contains("_placeholder");
  return flag != nullptr && flag->is_bool() && flag->get_bool();
}

std::optional<std::size_t> placeholder_num(const boost::json::value& value) noexcept {
  const auto* object = value.if_object();
  if (object == nullptr) return std::nullopt;
  const auto* num = object->if_contains("num");
  if (num == nullptr) return std::nullopt;
  if (const auto* signed_num = num->if_int64(); signed_num != nullptr && *signed_num >= 0) {
    return static_cast<std::size_t>(*signed_num);
  }
  if (const auto* unsigned_num = num->if_uint64()) return static_cast<std::size_t>(*unsigned_num);
  return std::nullopt;
}

Result<void> validate_placeholders(const boost::json::value& data, std::size_t attachment_count) {
  std::vector<bool> seen(attachment_count, false);
  if (auto checked = check_placeholders(data, seen); !checked) return checked;
  if (std::find(seen.begin(), seen.end(), false) != seen.end()) {
    return invalid("missing placeholder for an attachment");
  }
  return {};
}

Result<SioDecodeResult> decode(std::string_view text, const SioLimits& limits) {
  if (text.empty()) return invalid("empty Socket.IO packet");
  if (text.size() > limits.max_packet_bytes) return invalid("Socket.IO packet too large");
  if (text.front() < '0' || text.front() > '6') return invalid("unknown Socket.IO packet type");

  SioDecodeResult result;
  SioPacket& packet = result.packet;
  packet.type = static_cast<SioType>(text.front() - '0');
  std::size_t pos = 1;

  // <attachments>- : binary types only, 1..max_attachments, no leading zeros.
  if (is_binary(packet.type)) {
    const std::size_t start = pos;
    std::size_t count = 0;
    while (pos < text.size() && is_digit(text[pos])) {
      // Saturate instead of overflowing; anything above the cap is refused anyway.
      if (count <= limits.max_attachments)
        count = count * 10 + static_cast<std::size_t>(text[pos] - '0');
      ++pos;
    }
    if (pos == start) return invalid("missing attachment count");
    if (pos >= text.size() || text[pos] != '-')
      return invalid("missing '-' after attachment count");
    if (text[start] == '0')
      return invalid("attachment count must be positive, without leading zeros");
    if (count > limits.max_attachments) return invalid("too many attachments");
    ++pos;
    result.missing_attachments = count;
  }

  // <nsp>, : starts with '/', ends at the first ','.
  bool has_nsp = false;
  if (pos < text.size() && text[pos] == '/') {
    const auto comma = text.find(',', pos);
    if (comma == std::string_view::npos) return invalid("namespace without ','");
    const auto nsp = text.substr(pos, comma - pos);
    if (std::any_of(nsp.begin(), nsp.end(), is_control)) {
      return invalid("control character in namespace");
    }
    if (!is_valid_utf8(nsp)) return invalid("namespace is not valid UTF-8");
    packet.nsp.assign(nsp);
    pos = comma + 1;
    has_nsp = true;
  }

  // <ackId> : digits, below 2^53, no leading zeros.
  if (pos < text.size() && is_digit(text[pos])) {
    const std::size_t start = pos;
    std::uint64_t id = 0;
    bool too_large = false;
    while (pos < text.size() && is_digit(text[pos])) {
      const auto digit = static_cast<std::uint64_t>(text[pos] - '0');
      if (id > (kMaxAckId - digit) / 10) too_large = true;
      if (!too_large) id = id * 10 + digit;
      ++pos;
    }
    if (!has_nsp && !is_binary(packet.type) && pos < text.size() && text[pos] == '-') {
      return invalid("attachment count on a non-binary packet");
    }
    if (too_large) return invalid("ack id too large");
    if (text[start] == '0' && pos - start > 1) return invalid("ack id with leading zeros");
    const bool takes_id =
        packet.type == SioType::event || packet.type == SioType::ack || is_binary(packet.type);
    if (!takes_id) return invalid("ack id on a packet type that takes none");
    packet.id = id;
  }
  if ((packet.type == SioType::ack || packet.type == SioType::binary_ack) && !packet.id) {
    return invalid("ACK without id");
  }

  // [JSON] : the rest of the text, exactly one array or object.
  const auto payload = text.substr(pos);
  if (payload.empty()) {
    if (packet.type == SioType::connect || packet.type == SioType::disconnect) return result;
    return invalid("missing payload");
  }
  if (packet.type == SioType::disconnect) return invalid("unexpected payload in DISCONNECT");
  if (payload.front() != '[' && payload.front() != '{') {
    return invalid("payload must be a JSON array or object");
  }
  // Boost.JSON accepts trailing whitespace; any byte after the closing bracket is refused.
  if (payload.back() != ']' && payload.back() != '}') {
    return invalid("trailing bytes after JSON payload");
  }
  boost::json::parse_options options;
  options.max_depth = limits.max_json_depth;
  boost::system::error_code ec;
  packet.data = boost::json::parse(payload, ec, {}, options);
  if (ec) {
    if (ec == boost::json::error::too_deep) return invalid("JSON payload nested too deeply");
    if (ec == boost::json::error::extra_data) return invalid("trailing bytes after JSON payload");
    return invalid("invalid JSON payload");
  }
  if (auto checked = check_payload(packet.type, packet.data); !checked) return checked.error();
  if (!all_numbers_finite(packet.data)) return invalid("number out of range in JSON payload");
  if (is_binary(packet.type)) {
    if (auto checked = validate_placeholders(packet.data, result.missing_attachments); !checked) {
      return checked.error();
    }
  }
  return result;
}

Result<void> BinaryReassembler::start(SioDecodeResult incomplete) {
  if (pending_) {
    reset();
    return invalid("binary packet still waiting for attachments");
  }
  if (incomplete.complete() || !is_binary(incomplete.packet.type)) {
    reset();
    return invalid("not an incomplete binary packet");
  }
  remaining_ = incomplete.missing_attachments;
  pending_ = std::move(incomplete.packet);
  pending_->attachments.clear();
  pending_->attachments.reserve(remaining_);
  return {};
}

Result<std::optional<SioPacket>> BinaryReassembler::add(std::string attachment) {
  if (!pending_) return invalid("unexpected binary attachment");
  pending_->attachments.push_back(std::move(attachment));
  if (--remaining_ > 0) return std::optional<SioPacket>{};
  std::optional<SioPacket> complete = std::move(pending_);
  reset();
  return complete;
}

void BinaryReassembler::reset() noexcept {
  pending_.reset();
  remaining_ = 0;
}

void append_encoded(std::string& out, const SioPacket& packet) {
  out += static_cast<char>('0' + static_cast<int>(packet.type));
  if (is_binary(packet.type)) {
    append_number(out, packet.attachments.size());
    out += '-';
  }
  if (!packet.nsp.empty() && packet.nsp != "/") {
    out += packet.nsp;
    out += ',';
  }
  if (packet.id) append_number(out, *packet.id);
  if (!packet.data.is_null()) append_json(out, packet.data);
}

std::string encode_message(const SioPacket& packet) {
  std::string out(1, static_cast<char>(EioType::message));
  append_encoded(out, packet);
  return out;
}

std::vector<EioPacket> to_engineio(const SioPacket& packet) {
  std::vector<EioPacket> packets;
  packets.reserve(1 + packet.attachments.size());
  std::string text;
  append_encoded(text, packet);
  packets.push_back(EioPacket{EioType::message, std::move(text), false});
  for (const auto& attachment : packet.attachments) {
    packets.push_back(EioPacket{EioType::message, attachment, true});
  }
  return packets;
}

std::string encode_event(std::string_view nsp, std::string_view event_name,
                         std::string_view json_args_without_brackets,
                         std::optional<std::uint64_t> ack_id) {
  std::string out;
  // 2 type chars, nsp + ',', up to 20 id digits, brackets, quotes and comma; the name may grow
  // when escaped, which only costs one reallocation in that rare case.
  out.reserve(2 + nsp.size() + 1 + 20 + event_name.size() + json_args_without_brackets.size() + 5);
  out += static_cast<char>(EioType::message);
  out += static_cast<char>('0' + static_cast<int>(SioType::event));
  if (!nsp.empty() && nsp != "/") {
    out += nsp;
    out += ',';
  }
  if (ack_id) append_number(out, *ack_id);
  out += '[';
  append_json_string(out, event_name);
  if (!json_args_without_brackets.empty()) {
    out += ',';
    out += json_args_without_brackets;
  }
  out += ']';
  return out;
}

}  // namespace parley::realtime
