// The WAV writer against the ffmpeg CLI, and BCP47 primary subtags.

#include "speech/stt/wav.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <vector>

#include "speech/stt/recognizer.hpp"
#include "speech/stt/test_audio.hpp"

namespace parley::speech::stt {
namespace {

std::uint32_t u32(const std::string& bytes, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) {
    v = (v << 8) | static_cast<unsigned char>(bytes[at + static_cast<std::size_t>(i)]);
  }
  return v;
}
std::uint16_t u16(const std::string& bytes, std::size_t at) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(bytes[at]) |
                                    (static_cast<unsigned char>(bytes[at + 1]) << 8));
}

TEST(WavTest, HeaderDescribes16kMonoPcm) {
  const std::vector<std::int16_t> samples{0, 1, -1, 32767, -32768, 1234};
  const std::string wav = make_wav(samples, 16000);
  ASSERT_EQ(wav.size(), kWavHeaderBytes + samples.size() * 2);
  EXPECT_EQ(wav.substr(0, 4), "RIFF");
  EXPECT_EQ(u32(wav, 4), wav.size() - 8);
  EXPECT_EQ(wav.substr(8, 8), "WAVEfmt ");
  EXPECT_EQ(u32(wav, 16), 16U);
  EXPECT_EQ(u16(wav, 20), 1U);  // PCM
  EXPECT_EQ(u16(wav, 22), 1U);  // mono
  EXPECT_EQ(u32(wav, 24), 16000U);
  EXPECT_EQ(u32(wav, 28), 32000U);
  EXPECT_EQ(u16(wav, 32), 2U);
  EXPECT_EQ(u16(wav, 34), 16U);
  EXPECT_EQ(wav.substr(36, 4), "data");
  EXPECT_EQ(u32(wav, 40), samples.size() * 2);
  EXPECT_EQ(static_cast<std::int16_t>(u16(wav, 44 + 2 * 4)), -32768);
}

TEST(WavTest, FfmpegReadsBackTheSameSamples) {
  testing::TempDir dir;
  std::vector<std::int16_t> samples(16000);
  for (std::size_t i = 0; i < samples.size(); ++i) {
    samples[i] = static_cast<std::int16_t>((static_cast<int>(i) * 37) % 20000 - 10000);
  }
  {
    std::ofstream out(dir.path() / "x.wav", std::ios::binary);
    out << make_wav(samples, 16000);
  }
  testing::run_ffmpeg({"-i", (dir.path() / "x.wav").string(), "-f", "s16le", "-ar", "16000", "-ac",
                       "1", (dir.path() / "x.raw").string()});
  EXPECT_EQ(testing::read_raw(dir.path() / "x.raw"), samples);
}

TEST(WavTest, EmptyAudioIsAValidEmptyFile) {
  const std::string wav = make_wav({}, 16000);
  ASSERT_EQ(wav.size(), kWavHeaderBytes);
  EXPECT_EQ(u32(wav, 40), 0U);
}

TEST(PrimaryLanguageTest, TakesTheFirstSubtagLowerCased) {
  EXPECT_EQ(primary_language("en"), "en");
  EXPECT_EQ(primary_language("en-US"), "en");
  EXPECT_EQ(primary_language("PT_br"), "pt");
  EXPECT_EQ(primary_language("zh-Hant-TW"), "zh");
  EXPECT_EQ(primary_language("auto"), "auto");
  EXPECT_EQ(primary_language(""), "");
  EXPECT_EQ(primary_language("e"), "");
  EXPECT_EQ(primary_language("-US"), "");
  EXPECT_EQ(primary_language("e1"), "");
  EXPECT_EQ(primary_language("abcdefghi"), "");
  EXPECT_EQ(primary_language("é"), "");
}

TEST(PrimaryLanguageTest, DisplayableLanguageIsShortAndPrintable) {
  EXPECT_EQ(displayable_language("en-US"), "en-US");
  EXPECT_EQ(displayable_language("x\r\ny\x01é"), "x??y???");
  EXPECT_EQ(displayable_language(std::string(100, 'a')).size(), 35U);
}

}  // namespace
}  // namespace parley::speech::stt
