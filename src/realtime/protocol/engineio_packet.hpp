#pragma once
// Engine.IO v4 packets: the pure codec (no I/O). One packet is a type character followed by its
// data; WebSocket text frames carry one packet each, WebSocket binary frames carry the raw bytes
// of a binary message with no prefix, and long-polling bodies join packets with '\x1e' (the
// record separator, which JSON.stringify always escapes, so it never occurs inside a text
// message) and carry binary messages as `b` + base64.
//
// Parley is stricter than the Node server where leniency buys nothing: close, upgrade and noop
// must carry no data, ping and pong carry nothing or the upgrade probe string "probe", and `b`
// packets must be well-formed base64 (padded or unpadded, never over-padded).
//
// Errors: every malformed input is Errc::invalid_request with a short message that is safe to
// log. Nothing here throws for bad input. Every function is pure and thread-safe.

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace parley::realtime {

/// Engine.IO packet types; the enumerator value is the character on the wire.
enum class EioType : char {
  open = '0',
  close = '1',
  ping = '2',
  pong = '3',
  message = '4',
  upgrade = '5',
  noop = '6',
};

/// One Engine.IO packet.
struct EioPacket {
  EioType type = EioType::noop;
  std::string data;  ///< text (UTF-8 for text messages) or raw bytes when `binary`
  /// True for binary messages only (type is then EioType::message). A binary packet travels as
  /// a WebSocket binary frame holding `data` as is, or as `b<base64>` on long-polling.
  bool binary = false;

  friend bool operator==(const EioPacket&, const EioPacket&) = default;
};

/// The probe string of the WebSocket upgrade handshake (`2probe` / `3probe`).
inline constexpr std::string_view kEioProbe = "probe";

/// The separator between packets in a long-polling payload.
inline constexpr char kEioRecordSeparator = '\x1e';

/// Appends the text form of `packet` to `out`: the type character and the data, or `b` plus
/// base64(data) for a binary message (binary implies message; the type is not consulted).
/// Appending lets a broadcast be encoded once into a buffer shared by many recipients.
/// Use it for WebSocket text frames and polling segments; on a WebSocket a binary packet is
/// sent as a binary frame holding `packet.data` instead. Thread-safe (pure function).
void append_text(std::string& out, const EioPacket& packet);

/// append_text into a new string.
std::string encode_text(const EioPacket& packet);

/// Decodes one WebSocket text frame or one long-polling segment.
///
/// @return the packet; `b<base64>` gives a binary message.
/// Errors (invalid_request): empty frame, unknown type character, invalid base64, data on
/// close/upgrade/noop, data other than "probe" on ping/pong. Open and message data is not
/// inspected. Thread-safe (pure function).
Result<EioPacket> decode_text(std::string_view frame);

/// A WebSocket binary frame is always a binary message holding the frame's bytes (which may be
/// empty). Never fails. Thread-safe (pure function).
EioPacket decode_binary_frame(std::string_view bytes);

/// Appends a long-polling payload: the text form of each packet, joined by '\x1e'. An empty
/// span appends nothing. Thread-safe (pure function).
void append_payload(std::string& out, std::span<const EioPacket> packets);

/// append_payload into a new string, sized once.
std::string encode_payload(std::span<const EioPacket> packets);

/// Decodes a long-polling request body (a POST from the client).
///
/// @param body the whole body.
/// @param max_packets the most packets accepted in one body; checked before anything is decoded
///        or allocated, so an oversized body costs one scan.
/// @return the packets in order.
/// Errors (invalid_request): empty body, more than max_packets packets, or any segment that
/// decode_text rejects (an empty segment, e.g. from a doubled or trailing separator, included).
/// Thread-safe (pure function).
Result<std::vector<EioPacket>> decode_payload(std::string_view body, std::size_t max_packets);

}  // namespace parley::realtime
