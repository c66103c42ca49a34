#pragma once
// In-process audio decoding with the FFmpeg libraries (libavformat/libavcodec/libswresample).
//
// SECURITY F44: this parses untrusted bytes with a large C code base, so the server never calls
// it directly. Only the sandboxed `parley-audio-decoder` executable (decoder_main.cpp, driven by
// DecoderProcess) and the fuzzer link it. Containers are restricted to an allowlist (Matroska/
// WebM, Ogg, WAV, MP3, MP4/M4A, raw ADTS AAC, FLAC) and decoders to the audio codecs those carry,
// so FFmpeg's exotic demuxers (hls, concat, image2, subtitles...) never run on the input, and
// demuxers cannot open other files or URLs (every nested open is refused).
//
// Output is always 16 kHz mono signed 16-bit PCM, produced incrementally as frames decode.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "speech/audio/format.hpp"
#include "speech/audio/pcm.hpp"

namespace parley::speech::audio {

/// Where encoded bytes come from. Implementations may block in read() until data arrives:
/// that is how chunk-by-chunk streaming works.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  /// Fills up to out.size() bytes; returns how many (>= 1), 0 at end of input, < 0 on error.
  virtual std::ptrdiff_t read(std::span<std::uint8_t> out) = 0;
  /// Whether seek() works; only then may demuxers jump (MP4 with its index at the end).
  virtual bool seekable() const { return false; }
  /// lseek-like (SEEK_SET/SEEK_CUR/SEEK_END); returns the new position or < 0. `whence` ==
  /// AVSEEK_SIZE (0x10000) asks for the total size (< 0 if unknown).
  virtual std::int64_t seek(std::int64_t /*offset*/, int /*whence*/) { return -1; }
};

/// A ByteSource over bytes already in memory (seekable). Does not own `bytes`.
class MemorySource final : public ByteSource {
 public:
  explicit MemorySource(std::string_view bytes) : bytes_(bytes) {}
  std::ptrdiff_t read(std::span<std::uint8_t> out) override;
  bool seekable() const override { return true; }
  std::int64_t seek(std::int64_t offset, int whence) override;

 private:
  std::string_view bytes_;
  std::size_t pos_ = 0;
};

/// Receives 16 kHz mono PCM as it is decoded (one call per decoded frame, possibly empty
/// calls are skipped). Return false to stop decoding (decode_stream then fails with internal
/// "output closed").
using PcmSink = std::function<bool(std::span<const std::int16_t>)>;

struct DecodeSummary {
  std::string container;         ///< short name of the container found, e.g. "webm", "mp3"
  std::string codec;             ///< decoder used, e.g. "opus"
  std::int64_t samples_out = 0;  ///< 16 kHz samples delivered to the sink
  bool truncated = false;        ///< the input ended or broke mid-way; what decoded was kept
};

/// Decodes the first audio stream of `source` to 16 kHz mono and streams it to `sink`.
///
/// Errors (message safe to show):
/// - unsupported_media_type: empty-of-format or garbage input, a container outside the
///   allowlist ("not an audio file (found: png)"), no audio stream, a codec outside the
///   allowlist, or a container other than the declared one ("declared webm but the data is mp3");
/// - validation_failed: a recognised container from which nothing decodes ("corrupt audio"),
///   empty input, sample rate or channel count above the limits;
/// - payload_too_large: longer than limits.max_duration (declared or decoded so far);
/// - internal: out of memory inside FFmpeg, or the sink returned false.
/// A corrupt or truncated file that decoded partly succeeds with what decoded (summary.truncated).
/// Thread-safety: independent calls may run concurrently; FFmpeg's log level is NOT changed here
/// (the executable and the fuzzer silence it).
Result<DecodeSummary> decode_stream(ByteSource& source, InputFormat declared,
                                    const DecodeLimits& limits, const PcmSink& sink);

/// decode_stream over bytes in memory, collecting everything. Same errors.
Result<Pcm16> decode_all(std::string_view bytes, InputFormat declared, const DecodeLimits& limits);

}  // namespace parley::speech::audio
