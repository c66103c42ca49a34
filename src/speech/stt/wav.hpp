#pragma once
// A minimal RIFF/WAVE writer for engines that upload audio (Whisper-compatible services).

#include <cstdint>
#include <span>
#include <string>

namespace parley::speech::stt {

/// Bytes of a canonical 44-byte-header WAV file: PCM, 16-bit little-endian, `channels` channels
/// interleaved in `samples`, at `sample_rate` Hz. `samples.size()` must fit the RIFF 32-bit sizes
/// (callers cap utterance length far below that).
std::string make_wav(std::span<const std::int16_t> samples, int sample_rate, int channels = 1);

/// Size in bytes of the WAV header make_wav writes.
inline constexpr std::size_t kWavHeaderBytes = 44;

}  // namespace parley::speech::stt
