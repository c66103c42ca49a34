#include "speech/tts/audio_encoder.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "tts_test_support.hpp"

namespace parley::speech::tts {
namespace {

using testing::TempDir;

struct Case {
  AudioFormat format;
  int input_rate;
  const char* codec;
  int expected_rate;
};

class EncoderRoundTrip : public ::testing::TestWithParam<Case> {};

TEST_P(EncoderRoundTrip, DecodesBackToTheSameTone) {
  const Case c = GetParam();
  TempDir dir;
  const Pcm tone = testing::sine(c.input_rate, 1.5, 440.0);
  auto encoded = encode(tone, c.format);
  ASSERT_TRUE(encoded) << encoded.error().message;
  const auto path = dir / (std::string("tone.") + std::string(file_extension(c.format)));
  testing::write_file(path, *encoded);

  const auto probe = testing::ffprobe(path);
  ASSERT_TRUE(probe.ok);
  EXPECT_EQ(probe.codec, c.codec);
  EXPECT_EQ(probe.sample_rate, c.expected_rate);
  EXPECT_EQ(probe.channels, 1);
  EXPECT_NEAR(probe.duration, 1.5, 0.13);  // container estimate; MPEG-2.5 frames are coarse

  const Pcm decoded = testing::decode_with_ffmpeg(path, 16000);
  ASSERT_FALSE(decoded.samples.empty());
  EXPECT_NEAR(static_cast<double>(decoded.samples.size()) / 16000.0, 1.5, 0.08);
  EXPECT_NEAR(testing::zero_crossing_frequency(decoded), 440.0, 15.0);
  EXPECT_NEAR(testing::rms(decoded), testing::rms(tone), testing::rms(tone) * 0.2);
}

INSTANTIATE_TEST_SUITE_P(Formats, EncoderRoundTrip,
                         ::testing::Values(Case{AudioFormat::ogg_opus, 22050, "opus", 48000},
                                           Case{AudioFormat::ogg_opus, 16000, "opus", 48000},
                                           Case{AudioFormat::ogg_opus, 44100, "opus", 48000},
                                           Case{AudioFormat::mp3, 22050, "mp3", 22050},
                                           Case{AudioFormat::mp3, 44100, "mp3", 44100},
                                           Case{AudioFormat::mp3, 11000, "mp3", 11025},
                                           Case{AudioFormat::wav, 22050, "pcm_s16le", 22050},
                                           Case{AudioFormat::wav, 8000, "pcm_s16le", 8000}));

TEST(AudioEncoder, WavIsLossless) {
  TempDir dir;
  const Pcm tone = testing::sine(22050, 0.3, 300.0);
  auto encoded = encode(tone, AudioFormat::wav);
  ASSERT_TRUE(encoded);
  testing::write_file(dir / "x.wav", *encoded);
  const Pcm back = testing::read_wav(dir / "x.wav");
  EXPECT_EQ(back.sample_rate, 22050);
  EXPECT_EQ(back.samples, tone.samples);
}

TEST(AudioEncoder, ShortInputStillMakesAValidFile) {
  TempDir dir;
  const Pcm blip = testing::sine(22050, 0.005, 440.0);  // less than one opus frame
  for (auto format : {AudioFormat::ogg_opus, AudioFormat::mp3, AudioFormat::wav}) {
    auto encoded = encode(blip, format);
    ASSERT_TRUE(encoded) << encoded.error().message;
    const auto path = dir / (std::string("blip.") + std::string(file_extension(format)));
    testing::write_file(path, *encoded);
    EXPECT_TRUE(testing::ffprobe(path).ok) << file_extension(format);
  }
}

TEST(AudioEncoder, RejectsBadInput) {
  EXPECT_EQ(encode(Pcm{22050, {}}, AudioFormat::mp3).error().code, Errc::validation_failed);
  EXPECT_EQ(encode(Pcm{0, {1, 2, 3}}, AudioFormat::wav).error().code, Errc::validation_failed);
  EXPECT_EQ(encode(Pcm{500000, {1, 2, 3}}, AudioFormat::ogg_opus).error().code,
            Errc::validation_failed);
  Pcm huge{8000, {}};
  huge.samples.resize(8000 * 60 * 16);
  EXPECT_EQ(encode(huge, AudioFormat::wav).error().code, Errc::validation_failed);
}

TEST(AudioEncoder, Mp3DurationFromFrameHeaders) {
  const Pcm tone = testing::sine(44100, 2.0, 440.0);
  auto encoded = encode(tone, AudioFormat::mp3);
  ASSERT_TRUE(encoded);
  const auto duration = mp3_duration(*encoded);
  ASSERT_TRUE(duration);
  EXPECT_NEAR(static_cast<double>(duration->count()), 2000.0, 80.0);
  EXPECT_FALSE(mp3_duration("not an mp3 at all"));
  EXPECT_FALSE(mp3_duration(""));
}

TEST(AudioFormatNames, MimeTypesAndParsing) {
  EXPECT_EQ(mime_type(AudioFormat::ogg_opus), "audio/ogg");
  EXPECT_EQ(mime_type(AudioFormat::mp3), "audio/mpeg");
  EXPECT_EQ(mime_type(AudioFormat::wav), "audio/wav");
  EXPECT_EQ(*parse_audio_format("ogg"), AudioFormat::ogg_opus);
  EXPECT_EQ(*parse_audio_format("opus"), AudioFormat::ogg_opus);
  EXPECT_EQ(*parse_audio_format("OGG_OPUS"), AudioFormat::ogg_opus);
  EXPECT_EQ(*parse_audio_format("mp3"), AudioFormat::mp3);
  EXPECT_EQ(*parse_audio_format("wav"), AudioFormat::wav);
  EXPECT_EQ(parse_audio_format("flac").error().code, Errc::validation_failed);
  EXPECT_EQ(parse_audio_format("").error().code, Errc::validation_failed);
}

TEST(AudioFormatNames, AcceptHeader) {
  EXPECT_EQ(format_from_accept(""), AudioFormat::ogg_opus);
  EXPECT_EQ(format_from_accept("*/*"), AudioFormat::ogg_opus);
  EXPECT_EQ(format_from_accept("audio/*"), AudioFormat::ogg_opus);
  EXPECT_EQ(format_from_accept("audio/mpeg"), AudioFormat::mp3);
  EXPECT_EQ(format_from_accept("audio/mp3"), AudioFormat::mp3);
  EXPECT_EQ(format_from_accept("audio/opus"), AudioFormat::ogg_opus);
  EXPECT_EQ(format_from_accept("Audio/WAV"), AudioFormat::wav);
  EXPECT_EQ(format_from_accept("audio/ogg;q=0.5, audio/mpeg;q=0.9"), AudioFormat::mp3);
  EXPECT_EQ(format_from_accept("audio/mpeg;q=0.4, audio/*;q=0.8"), AudioFormat::ogg_opus);
  // A specific q=0 excludes a format even when a wildcard accepts it.
  EXPECT_EQ(format_from_accept("audio/ogg;q=0, audio/*"), AudioFormat::mp3);
  EXPECT_EQ(format_from_accept("audio/ogg;q=0, audio/mpeg;q=0, */*;q=0.1"), AudioFormat::wav);
  EXPECT_EQ(format_from_accept("text/html, application/json"), std::nullopt);
  EXPECT_EQ(format_from_accept("audio/*;q=0"), std::nullopt);
  EXPECT_EQ(format_from_accept("audio/flac"), std::nullopt);
  EXPECT_EQ(format_from_accept(" , ;;, audio/wav ; q=0.7 ; level=1"), AudioFormat::wav);
  EXPECT_EQ(format_from_accept("audio/mpeg;q=abc"), std::nullopt);
}

}  // namespace
}  // namespace parley::speech::tts
