#pragma once
// Server-to-client WebSocket frames (RFC 6455 section 5.2) written directly, for the hot path of
// uncompressed connections: a server frame is never masked, so one complete message is a 2, 4 or
// 10 byte header and the payload as it is. Pure function, thread-safe.

#include <cstdint>
#include <string>
#include <string_view>

namespace parley::realtime {

/// Appends the header (2, 4 or 10 bytes) of one final (unfragmented) text or binary frame
/// whose payload is `size` bytes long.
inline void append_websocket_frame_header(std::string& out, bool binary, std::uint64_t size) {
  constexpr unsigned char kFin = 0x80;
  constexpr unsigned char kText = 0x1;
  constexpr unsigned char kBinary = 0x2;
  out.push_back(static_cast<char>(kFin | (binary ? kBinary : kText)));
  if (size < 126) {
    out.push_back(static_cast<char>(size));
  } else if (size <= 0xFFFF) {
    out.push_back(static_cast<char>(126));
    out.push_back(static_cast<char>((size >> 8) & 0xFF));
    out.push_back(static_cast<char>(size & 0xFF));
  } else {
    out.push_back(static_cast<char>(127));
    for (int shift = 56; shift >= 0; shift -= 8) {
      out.push_back(static_cast<char>((size >> shift) & 0xFF));
    }
  }
}

/// The longest frame header: what append_websocket_frame_header() may add.
inline constexpr std::size_t kMaxWebSocketFrameHeader = 10;

/// Appends one final (unfragmented) text or binary frame carrying `payload` to `out`.
inline void append_websocket_frame(std::string& out, bool binary, std::string_view payload) {
  append_websocket_frame_header(out, binary, payload.size());
  out.append(payload);
}

}  // namespace parley::realtime
