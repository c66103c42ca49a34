#include "speech/audio/resampler.hpp"

#include <climits>

#include "speech/audio/ffmpeg.hpp"

namespace parley::speech::audio {

void Resampler::SwrFree::operator()(SwrContext* swr) const noexcept { swr_free(&swr); }

Resampler::Resampler(std::unique_ptr<SwrContext, SwrFree> swr, int input_rate)
    : swr_(std::move(swr)), input_rate_(input_rate) {}
Resampler::Resampler(Resampler&&) noexcept = default;
Resampler& Resampler::operator=(Resampler&&) noexcept = default;
Resampler::~Resampler() = default;

Result<Resampler> Resampler::create(int input_rate) {
  if (input_rate < 8000 || input_rate > 48000) {
    return fail(Errc::validation_failed,
                "sample rate must be between 8000 and 48000 Hz, got " + std::to_string(input_rate));
  }
  AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
  SwrContext* raw = nullptr;
  int rc = swr_alloc_set_opts2(&raw, &mono, AV_SAMPLE_FMT_S16, 16000, &mono, AV_SAMPLE_FMT_S16,
                               input_rate, 0, nullptr);
  std::unique_ptr<SwrContext, SwrFree> swr(raw);
  if (rc >= 0) rc = swr_init(swr.get());
  if (rc < 0) return fail(Errc::internal, "could not set up the audio resampler");
  return Resampler(std::move(swr), input_rate);
}

std::vector<std::int16_t> Resampler::convert(const std::int16_t* input, int count) {
  const int capacity = swr_get_out_samples(swr_.get(), count);
  if (capacity <= 0) return {};
  std::vector<std::int16_t> out(static_cast<std::size_t>(capacity));
  auto* out_ptr = reinterpret_cast<std::uint8_t*>(out.data());
  const auto* in_ptr = reinterpret_cast<const std::uint8_t*>(input);
  const int converted =
      swr_convert(swr_.get(), &out_ptr, capacity, input ? &in_ptr : nullptr, count);
  out.resize(static_cast<std::size_t>(std::max(0, converted)));
  return out;
}

std::vector<std::int16_t> Resampler::push(std::span<const std::int16_t> input) {
  std::vector<std::int16_t> out;
  // swr takes an int count: feed huge spans in slices.
  constexpr std::size_t kSlice = 1 << 20;
  for (std::size_t offset = 0; offset < input.size(); offset += kSlice) {
    const auto n = std::min(kSlice, input.size() - offset);
    auto part = convert(input.data() + offset, static_cast<int>(n));
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

std::vector<std::int16_t> Resampler::flush() {
  auto out = convert(nullptr, 0);
  // swr_convert with no input drains the filter; re-init so the next push starts afresh.
  swr_init(swr_.get());
  return out;
}

}  // namespace parley::speech::audio
