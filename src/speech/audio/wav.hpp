#pragma once
// WAV (RIFF, PCM 16-bit mono) encoding, to store utterances and to send audio to Whisper.

#include <cstddef>
#include <string>

#include "speech/audio/pcm.hpp"

namespace parley::speech::audio {

/// Size in bytes of the header encode_wav writes before the samples.
inline constexpr std::size_t kWavHeaderBytes = 44;

/// A complete RIFF/WAVE file (44-byte header + little-endian samples) at pcm.sample_rate.
/// Pure function; thread-safe. Audio beyond the 4 GiB RIFF limit is not representable: the
/// caller's duration limits keep inputs far below it.
std::string encode_wav(const Pcm16& pcm);

}  // namespace parley::speech::audio
