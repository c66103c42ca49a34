#include "tts_test_support.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>

namespace parley::speech::testing {

using tts::Pcm;

tts::Pcm decode_with_ffmpeg(const std::filesystem::path& path, int rate) {
  return Pcm{rate, ffmpeg_decode(path, rate)};
}

Pcm read_wav(const std::filesystem::path& path) {
  const std::string data = read_file(path);
  Pcm pcm;
  if (data.size() < 12 || data.compare(0, 4, "RIFF") != 0 || data.compare(8, 4, "WAVE") != 0) {
    return pcm;
  }
  auto u16 = [&](std::size_t at) {
    return static_cast<unsigned>(static_cast<unsigned char>(data[at])) |
           static_cast<unsigned>(static_cast<unsigned char>(data[at + 1])) << 8;
  };
  auto u32 = [&](std::size_t at) { return u16(at) | u16(at + 2) << 16; };
  std::size_t pos = 12;
  unsigned channels = 1;
  while (pos + 8 <= data.size()) {
    const std::string id = data.substr(pos, 4);
    std::size_t size = u32(pos + 4);
    const std::size_t body = pos + 8;
    if (id == "fmt ") {
      channels = u16(body + 2);
      pcm.sample_rate = static_cast<int>(u32(body + 4));
    } else if (id == "data") {
      size = std::min(size, data.size() - body);
      const std::size_t frames = size / (2 * channels);
      pcm.samples.resize(frames);
      for (std::size_t i = 0; i < frames; ++i) {
        pcm.samples[i] = static_cast<std::int16_t>(u16(body + i * 2 * channels));
      }
      break;
    }
    pos = body + size + (size & 1);
  }
  return pcm;
}

tts::EspeakSynthesizer& shared_espeak() {
  static std::unique_ptr<tts::EspeakSynthesizer> instance = [] {
    auto created = tts::EspeakSynthesizer::create();
    if (!created) throw std::runtime_error(created.error().message);
    return std::move(*created);
  }();
  return *instance;
}

Pcm sine(int rate, double seconds, double frequency, double amplitude) {
  Pcm pcm{rate, {}};
  const auto n = static_cast<std::size_t>(rate * seconds);
  pcm.samples.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    pcm.samples[i] = static_cast<std::int16_t>(
        std::lround(amplitude * std::sin(2 * M_PI * frequency * static_cast<double>(i) / rate)));
  }
  return pcm;
}

double zero_crossing_frequency(const Pcm& pcm) {
  std::size_t crossings = 0;
  for (std::size_t i = 1; i < pcm.samples.size(); ++i) {
    if ((pcm.samples[i - 1] < 0) != (pcm.samples[i] < 0)) ++crossings;
  }
  const double seconds = static_cast<double>(pcm.samples.size()) / pcm.sample_rate;
  return seconds > 0 ? static_cast<double>(crossings) / 2.0 / seconds : 0;
}

double rms(const Pcm& pcm) {
  double sum = 0;
  for (auto s : pcm.samples) sum += static_cast<double>(s) * s;
  return pcm.samples.empty() ? 0 : std::sqrt(sum / static_cast<double>(pcm.samples.size()));
}

}  // namespace parley::speech::testing
