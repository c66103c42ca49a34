#pragma once
// Mono 16-bit PCM as the TTS engines produce and consume it. Kept local to tts so this module
// does not depend on the audio module (written separately); converting between the two is a copy.

#include <chrono>
#include <cstdint>
#include <vector>

namespace parley::speech::tts {

struct Pcm {
  int sample_rate = 0;
  std::vector<std::int16_t> samples;  ///< mono, native-endian

  std::chrono::milliseconds duration() const noexcept {
    if (sample_rate <= 0) return std::chrono::milliseconds{0};
    return std::chrono::milliseconds{static_cast<std::int64_t>(samples.size()) * 1000 /
                                     sample_rate};
  }
};

}  // namespace parley::speech::tts
