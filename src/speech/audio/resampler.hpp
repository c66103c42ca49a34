#pragma once
// In-process resampling of raw mono pcm16 (from `pcm16` streams at a declared rate) to 16 kHz.
// Raw PCM involves no parsing, so unlike container decoding it is trusted in-process.

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/error.hpp"

struct SwrContext;

namespace parley::speech::audio {

class Resampler {
 public:
  /// Errors: validation_failed when input_rate is outside 8000..48000 Hz; internal when
  /// libswresample cannot be set up.
  static Result<Resampler> create(int input_rate);

  Resampler(Resampler&&) noexcept;
  Resampler& operator=(Resampler&&) noexcept;
  ~Resampler();

  int input_rate() const { return input_rate_; }
  /// Converts any number of input samples; returns the 16 kHz samples ready so far (the
  /// filter keeps a few samples of delay until flush()).
  std::vector<std::int16_t> push(std::span<const std::int16_t> input);
  /// Returns the delayed tail; the resampler can be reused afterwards as a fresh stream.
  std::vector<std::int16_t> flush();

 private:
  struct SwrFree {
    void operator()(SwrContext* swr) const noexcept;
  };
  Resampler(std::unique_ptr<SwrContext, SwrFree> swr, int input_rate);
  std::vector<std::int16_t> convert(const std::int16_t* input, int count);

  std::unique_ptr<SwrContext, SwrFree> swr_;
  int input_rate_ = 16000;
};

}  // namespace parley::speech::audio
