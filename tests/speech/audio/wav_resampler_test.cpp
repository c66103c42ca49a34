// WAV encoding (checked field by field, and by decoding it back with FFmpeg and the ffmpeg CLI)
// and in-process resampling of raw PCM.

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "speech/audio/decoder.hpp"
#include "speech/audio/resampler.hpp"
#include "speech/audio/wav.hpp"
#include "test_audio.hpp"

namespace parley::speech::audio {
namespace {

std::uint32_t u32_at(const std::string& s, std::size_t at) {
  return static_cast<std::uint8_t>(s[at]) | static_cast<std::uint8_t>(s[at + 1]) << 8 |
         static_cast<std::uint8_t>(s[at + 2]) << 16 |
         static_cast<std::uint32_t>(static_cast<std::uint8_t>(s[at + 3])) << 24;
}
std::uint16_t u16_at(const std::string& s, std::size_t at) {
  return static_cast<std::uint16_t>(static_cast<std::uint8_t>(s[at]) |
                                    static_cast<std::uint8_t>(s[at + 1]) << 8);
}

TEST(Wav, HeaderDescribes16kMonoPcm) {
  Pcm16 pcm;
  pcm.samples = {0, 1, -1, 32767, -32768, 1234};
  const auto wav = encode_wav(pcm);
  ASSERT_EQ(wav.size(), kWavHeaderBytes + pcm.samples.size() * 2);
  EXPECT_EQ(wav.substr(0, 4), "RIFF");
  EXPECT_EQ(u32_at(wav, 4), wav.size() - 8);
  EXPECT_EQ(wav.substr(8, 8), "WAVEfmt ");
  EXPECT_EQ(u32_at(wav, 16), 16u);
  EXPECT_EQ(u16_at(wav, 20), 1u);  // PCM
  EXPECT_EQ(u16_at(wav, 22), 1u);  // mono
  EXPECT_EQ(u32_at(wav, 24), 16000u);
  EXPECT_EQ(u32_at(wav, 28), 32000u);  // byte rate
  EXPECT_EQ(u16_at(wav, 32), 2u);      // block align
  EXPECT_EQ(u16_at(wav, 34), 16u);     // bits per sample
  EXPECT_EQ(wav.substr(36, 4), "data");
  EXPECT_EQ(u32_at(wav, 40), pcm.samples.size() * 2);
  EXPECT_EQ(static_cast<std::int16_t>(u16_at(wav, kWavHeaderBytes + 2 * 4)), -32768);
}

TEST(Wav, EncodesARiffPcmFileThatDecodesBackExactly) {
  Pcm16 pcm;
  pcm.samples = testing::goforward();
  const auto wav = encode_wav(pcm);
  ASSERT_EQ(wav.size(), kWavHeaderBytes + pcm.samples.size() * 2);
  EXPECT_EQ(u32_at(wav, 4), wav.size() - 8);
  EXPECT_EQ(u32_at(wav, 40), pcm.samples.size() * 2);
  auto back = decode_all(wav, InputFormat::wav, {});
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->samples, pcm.samples);
  EXPECT_EQ(pcm.duration().count(), static_cast<std::int64_t>(pcm.samples.size()) / 16);
}

TEST(Wav, TheFfmpegCliReadsBackTheSameSamples) {
  testing::TempDir dir;
  Pcm16 pcm;
  pcm.samples.resize(16000);
  for (std::size_t i = 0; i < pcm.samples.size(); ++i) {
    pcm.samples[i] = static_cast<std::int16_t>((static_cast<int>(i) * 37) % 20000 - 10000);
  }
  testing::write_file(dir / "x.wav", encode_wav(pcm));
  EXPECT_EQ(testing::ffmpeg_decode(dir / "x.wav", 16000), pcm.samples);
}

TEST(Wav, EmptyAudioIsAValidEmptyFile) {
  const auto wav = encode_wav(Pcm16{});
  ASSERT_EQ(wav.size(), kWavHeaderBytes);
  EXPECT_EQ(u32_at(wav, 4), 36u);
  EXPECT_EQ(u32_at(wav, 40), 0u);
}

std::vector<std::int16_t> sine(int rate, double hz, double seconds) {
  std::vector<std::int16_t> out(static_cast<std::size_t>(rate * seconds));
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<std::int16_t>(
        10000 * std::sin(2 * std::numbers::pi * hz * static_cast<double>(i) / rate));
  }
  return out;
}

int zero_crossings(const std::vector<std::int16_t>& pcm) {
  int n = 0;
  for (std::size_t i = 1; i < pcm.size(); ++i) n += (pcm[i - 1] < 0) != (pcm[i] < 0) ? 1 : 0;
  return n;
}

TEST(Resampler, ConvertsAnyRateTo16kKeepingPitchAndLength) {
  for (const int rate : {8000, 11025, 22050, 32000, 44100, 48000}) {
    auto resampler = Resampler::create(rate);
    ASSERT_TRUE(resampler) << rate;
    const auto input = sine(rate, 440, 1.0);
    std::vector<std::int16_t> out;
    // Uneven pieces, as network chunks arrive.
    for (std::size_t i = 0; i < input.size(); i += 999) {
      auto part = resampler->push(
          std::span(input).subspan(i, std::min<std::size_t>(999, input.size() - i)));
      out.insert(out.end(), part.begin(), part.end());
    }
    auto tail = resampler->flush();
    out.insert(out.end(), tail.begin(), tail.end());
    EXPECT_NEAR(static_cast<double>(out.size()), 16000.0, 40.0) << rate;
    EXPECT_NEAR(zero_crossings(out), 880, 6) << rate;
  }
}

TEST(Resampler, RejectsRatesOutsideTheRange) {
  for (const int rate : {0, -1, 7999, 48001, 96000}) {
    auto resampler = Resampler::create(rate);
    ASSERT_FALSE(resampler) << rate;
    EXPECT_EQ(resampler.error().code, Errc::validation_failed);
  }
}

TEST(Resampler, SixteenKilohertzPassesThrough) {
  auto resampler = Resampler::create(16000);
  ASSERT_TRUE(resampler);
  const auto input = testing::goforward();
  auto out = resampler->push(input);
  auto tail = resampler->flush();
  out.insert(out.end(), tail.begin(), tail.end());
  EXPECT_EQ(out.size(), input.size());
  EXPECT_GT(testing::envelope_similarity(input, out, 1), 0.999);
}

}  // namespace
}  // namespace parley::speech::audio
