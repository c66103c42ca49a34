#pragma once
// Socket.IO v5 packets: the pure codec (no I/O). A Socket.IO packet is the data of an
// Engine.IO message; its text layout is
//
//     <type>[<attachments>-][<nsp>,][<ackId>][JSON]
//
// e.g. `2["foo"]`, `2/admin,456["project:delete",123]`, `451-["foo",{"_placeholder":true,"num":0}]`
// (the leading '4' is the Engine.IO message type). Binary packets (5 and 6) are followed by
// <attachments> binary Engine.IO messages; the JSON holds `{"_placeholder":true,"num":N}` where
// the N-th attachment belongs.
//
// Validation follows the protocol checklist (shared/protocols/socketio.md). Parley is stricter than
// the Node parser where a lenient reading would let two implementations see different packets, or
// where no official client ever sends the form: a namespace must end with ',' (Node accepts
// `1/admin` without one) and is valid UTF-8 without control characters; ack ids have no leading
// zeros and stay below 2^53 (JavaScript's safe-integer range); ack ids only on EVENT/ACK types and
// required on ACK; EVENT and ACK require a payload; the JSON must start with '[' or '{' and end
// with ']' or '}' (no surrounding whitespace); placeholders must number exactly 0..count-1, each
// used once.
//
// Errors: every violation is Errc::invalid_request with a short message safe to log (the caller
// closes the connection, as the protocol requires). Nothing throws for bad input. Free
// functions are pure and thread-safe; BinaryReassembler is a per-connection state machine and,
// like the connection, must be used from one strand.

#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "realtime/protocol/engineio_packet.hpp"

namespace parley::realtime {

/// Socket.IO packet types; the enumerator value is the digit on the wire.
enum class SioType {
  connect = 0,
  disconnect = 1,
  event = 2,
  ack = 3,
  connect_error = 4,
  binary_event = 5,
  binary_ack = 6,
};

/// True for binary_event and binary_ack, the types followed by attachments.
constexpr bool is_binary(SioType type) noexcept {
  return type == SioType::binary_event || type == SioType::binary_ack;
}

/// One Socket.IO packet.
struct SioPacket {
  SioType type = SioType::event;
  std::string nsp = "/";            ///< namespace; "/" is omitted on the wire
  std::optional<std::uint64_t> id;  ///< ack id (EVENT asks for an ack; ACK answers it)
  boost::json::value data;          ///< the JSON payload; null when absent
  /// Binary types only: the attachments in order (placeholder `num` indexes this). Empty in a
  /// packet that decode() returned incomplete; filled by BinaryReassembler. When encoding, the
  /// caller puts them here and sends them after the text packet (see to_engineio).
  std::vector<std::string> attachments;

  friend bool operator==(const SioPacket&, const SioPacket&) = default;
};

/// Caps applied by decode().
struct SioLimits {
  std::size_t max_attachments = 10;  ///< Node's default; a binary packet needs 1..this
  std::size_t max_json_depth = 32;   ///< nesting of arrays/objects in the payload
  /// The whole packet text (header and JSON). Engine.IO's maxPayload already bounds frames; this
  /// keeps the JSON DOM small when that is configured large.
  std::size_t max_packet_bytes = 1'000'000;
};

/// What decode() returns: a packet, complete or waiting for attachments.
struct SioDecodeResult {
  /// For a binary type the placeholders are still in `data` and `attachments` is empty.
  SioPacket packet;
  /// How many binary attachments must follow before the packet is complete (0 = complete).
  std::size_t missing_attachments = 0;

  bool complete() const noexcept { return missing_attachments == 0; }
};

/// Decodes the text of one Socket.IO packet (the data of an Engine.IO text message).
///
/// @return the packet; for BINARY_EVENT/BINARY_ACK an incomplete result whose placeholders have
///         already been checked against the announced count, so the attachments can be matched
///         as they arrive (BinaryReassembler).
/// Errors (invalid_request): empty text, unknown type, packet over limits.max_packet_bytes,
/// missing or malformed attachment count (must be 1..limits.max_attachments, binary types only),
/// a namespace without its closing ',', with control characters or not valid UTF-8, a malformed ack
/// id (leading zero, >= 2^53, on a type that takes none, missing on ACK), invalid JSON or JSON
/// nested deeper than limits.max_json_depth, a number outside the double range (1e400), trailing
/// bytes, and a payload of the wrong shape for the type: CONNECT absent or an object; DISCONNECT
/// none; CONNECT_ERROR an object; EVENT a non-empty array whose first element is a number or a
/// string that is not a reserved event name; ACK an array; binary placeholders not numbered exactly
/// 0..count-1, each once. Thread-safe (pure function).
Result<SioDecodeResult> decode(std::string_view text, const SioLimits& limits = {});

/// True when `value` is a placeholder object, i.e. has `"_placeholder": true` (the Node parser's
/// test; other members are ignored). Placeholders are only meaningful in binary packets.
bool is_placeholder(const boost::json::value& value) noexcept;

/// The `num` of a placeholder when it is a non-negative integer, else nullopt.
std::optional<std::size_t> placeholder_num(const boost::json::value& value) noexcept;

/// Checks that the placeholders in `data` (at any depth; a placeholder's own members are not
/// searched) are numbered exactly 0..attachment_count-1, each used once.
/// Errors: invalid_request otherwise (also for a non-integer num). Thread-safe (pure function).
Result<void> validate_placeholders(const boost::json::value& data, std::size_t attachment_count);

/// Calls `visit(std::size_t num, boost::json::value& placeholder)` for every placeholder in
/// `data`, depth-first in document order, so a caller can replace placeholders in place (e.g.
/// with a reference to stored media). Placeholders whose num is not an integer are skipped; a
/// packet from decode() has none. Recursion depth is bounded by SioLimits::max_json_depth.
template <class Visit>
void for_each_placeholder(boost::json::value& data, Visit&& visit) {
  if (is_placeholder(data)) {
    if (const auto num = placeholder_num(data)) visit(*num, data);
    return;
  }
  if (auto* array = data.if_array()) {
    for (auto& element : *array) for_each_placeholder(element, visit);
  } else if (auto* object = data.if_object()) {
    for (auto& member : *object) for_each_placeholder(member.value(), visit);
  }
}

/// Collects the attachments of a binary packet as they arrive, one per connection.
///
/// The protocol sends a binary packet's attachments right after its text, so a text packet
/// arriving mid-sequence, or an attachment with nothing pending, is a protocol error (as in the
/// Node parser). Not thread-safe: use from the connection's strand.
class BinaryReassembler {
 public:
  /// True while a packet is waiting for attachments.
  bool in_progress() const noexcept { return pending_.has_value(); }
  /// Attachments still expected (0 when idle).
  std::size_t remaining() const noexcept { return remaining_; }

  /// Starts collecting for an incomplete decode() result.
  /// Errors: invalid_request when a packet is already pending (the previous packet's
  /// attachments did not all arrive), or when `incomplete` is complete or not a binary type
  /// (a programmer error, reported rather than asserted). The reassembler is then reset.
  Result<void> start(SioDecodeResult incomplete);

  /// Adds the next attachment (the bytes of a binary Engine.IO message).
  /// @return the completed packet after the last attachment, nullopt while more are expected.
  /// Errors: invalid_request when no packet is pending.
  Result<std::optional<SioPacket>> add(std::string attachment);

  /// Drops any pending packet (e.g. when the connection closes).
  void reset() noexcept;

 private:
  std::optional<SioPacket> pending_;
  std::size_t remaining_ = 0;
};

/// Appends the canonical text of `packet` (no Engine.IO prefix): `2["foo"]`, `3/admin,456[]`,
/// `51-[...]`. The namespace is omitted for "/" (and when empty); a null `data` is omitted. For
/// binary types the attachment count written is `packet.attachments.size()`; `data` must already
/// hold the matching placeholders and the attachments are sent separately (see to_engineio).
/// The packet is trusted (server-built) and not validated; in particular `data` must hold no
/// infinite or NaN double, which Boost.JSON 1.81 writes as the non-JSON `Infinity`/`NaN`.
/// Thread-safe (pure function).
void append_encoded(std::string& out, const SioPacket& packet);

/// The Engine.IO message text for `packet`: '4' followed by append_encoded's output.
std::string encode_message(const SioPacket& packet);

/// The Engine.IO packets that carry `packet`: its text message, then one binary message per
/// attachment (in order). Thread-safe (pure function).
std::vector<EioPacket> to_engineio(const SioPacket& packet);

/// Broadcast fast path: builds the Engine.IO message text `42[/nsp,][ackId]["name",<args>]` by
/// concatenation, without building a JSON DOM, so one broadcast is encoded once.
///
/// @param nsp namespace; omitted for "/" or empty.
/// @param event_name escaped here as a JSON string (must be valid UTF-8; not a reserved name).
/// @param json_args_without_brackets the remaining arguments as already-serialized JSON values
///        separated by commas, e.g. `1,{"a":true}`; empty for none. NOT validated: it must
///        already be valid JSON (produce it with boost::json::serialize), or clients get a
///        packet they cannot parse.
/// @param ack_id set when the server expects an acknowledgement.
/// Thread-safe (pure function).
std::string encode_event(std::string_view nsp, std::string_view event_name,
                         std::string_view json_args_without_brackets,
                         std::optional<std::uint64_t> ack_id = std::nullopt);

}  // namespace parley::realtime
