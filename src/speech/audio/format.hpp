#pragma once
// Declared input formats and decoding limits: shared by the sandboxed decoder and the server
// side that starts it (decoder_process.hpp), which must not link the FFmpeg demuxers.

#include <chrono>
#include <string_view>

#include "core/error.hpp"

namespace parley::speech::audio {

/// The container a client declared; `probe` means "detect it from the bytes".
enum class InputFormat { probe, webm, ogg, wav, mp3, m4a, flac };

/// "webm"|"webm-opus" → webm, "ogg"|"ogg-opus" → ogg, "wav", "mp3", "m4a"|"mp4"|"aac" → m4a,
/// "flac", "probe"|"auto" → probe (case-sensitive). Errors: unsupported_media_type otherwise.
Result<InputFormat> parse_input_format(std::string_view name);
/// Canonical name ("probe", "webm", "ogg", "wav", "mp3", "m4a", "flac"); static storage.
std::string_view to_string(InputFormat format) noexcept;

struct DecodeLimits {
  std::chrono::milliseconds max_duration{std::chrono::minutes{10}};
  int max_sample_rate = 192000;  ///< of the encoded stream, Hz
  int max_channels = 8;          ///< of the encoded stream
};

}  // namespace parley::speech::audio
