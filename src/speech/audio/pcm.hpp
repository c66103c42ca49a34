#pragma once
// Decoded audio as the speech module uses it everywhere: signed 16-bit mono PCM.

#include <chrono>
#include <cstdint>
#include <vector>

namespace parley::speech::audio {

/// Mono signed 16-bit PCM at `sample_rate` Hz (16 kHz unless stated otherwise).
struct Pcm16 {
  int sample_rate = 16000;
  std::vector<std::int16_t> samples;

  /// Length of `samples` at `sample_rate`, rounded down to whole milliseconds (0 for a
  /// non-positive rate).
  std::chrono::milliseconds duration() const {
    if (sample_rate <= 0) return std::chrono::milliseconds{0};
    return std::chrono::milliseconds{static_cast<std::int64_t>(samples.size()) * 1000 /
                                     sample_rate};
  }
};

}  // namespace parley::speech::audio
