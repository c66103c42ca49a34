// In-process decoding (what the sandboxed executable and the fuzzer run) on real speech encoded
// by the ffmpeg CLI into every supported format, and on bad inputs.

#include "speech/audio/decoder.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <random>

#include "test_audio.hpp"

namespace parley::speech::audio {
namespace {

using namespace std::chrono_literals;
using testing::TempDir;

struct FormatCase {
  const char* name;
  InputFormat format;
  std::vector<std::string> args;
  const char* ext;
  std::int64_t tolerance_ms;
};

class DecodeFormats : public ::testing::TestWithParam<FormatCase> {};

TEST_P(DecodeFormats, DecodesRealSpeechTo16kMonoMatchingTheOriginal) {
  const auto& c = GetParam();
  TempDir dir;
  const auto original = testing::goforward();
  const auto file = testing::encode(original, dir.path(), c.args, c.ext);
  for (const auto declared : {c.format, InputFormat::probe}) {
    auto pcm = decode_all(file, declared, DecodeLimits{});
    ASSERT_TRUE(pcm) << c.name << ": " << pcm.error().message;
    EXPECT_EQ(pcm->sample_rate, 16000);
    EXPECT_NEAR(static_cast<double>(pcm->samples.size()), static_cast<double>(original.size()),
                c.tolerance_ms * 16.0)
        << c.name;
    EXPECT_GT(testing::envelope_similarity(original, pcm->samples), 0.9) << c.name;
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllFormats, DecodeFormats,
    ::testing::Values(
        FormatCase{"webm", InputFormat::webm, {"-c:a", "libopus", "-f", "webm"}, "webm", 80},
        FormatCase{"webm_live",
                   InputFormat::webm,
                   {"-c:a", "libopus", "-f", "webm", "-live", "1", "-cluster_time_limit", "250"},
                   "webm",
                   80},
        FormatCase{"ogg", InputFormat::ogg, {"-c:a", "libopus", "-f", "ogg"}, "ogg", 80},
        FormatCase{"wav", InputFormat::wav, {"-c:a", "pcm_s16le"}, "wav", 1},
        FormatCase{"mp3", InputFormat::mp3, {"-c:a", "libmp3lame", "-b:a", "64k"}, "mp3", 120},
        FormatCase{"m4a", InputFormat::m4a, {"-c:a", "aac", "-b:a", "64k"}, "m4a", 80},
        FormatCase{"flac", InputFormat::flac, {"-c:a", "flac"}, "flac", 1}),
    [](const auto& test_info) { return std::string(test_info.param.name); });

TEST(Decoder, Wav44kStereoBecomes16kMono) {
  TempDir dir;
  const auto original = testing::goforward();
  const auto file = testing::encode(original, dir.path(), {"-ar", "44100", "-ac", "2"}, "wav");
  auto pcm = decode_all(file, InputFormat::wav, DecodeLimits{});
  ASSERT_TRUE(pcm) << pcm.error().message;
  EXPECT_NEAR(static_cast<double>(pcm->samples.size()), static_cast<double>(original.size()),
              20 * 16.0);
  EXPECT_GT(testing::envelope_similarity(original, pcm->samples), 0.95);
}

TEST(Decoder, LosslessFormatsRoundTripExactly) {
  TempDir dir;
  const auto original = testing::goforward();
  const auto flac = testing::encode(original, dir.path(), {"-c:a", "flac"}, "flac");
  auto pcm = decode_all(flac, InputFormat::flac, DecodeLimits{});
  ASSERT_TRUE(pcm) << pcm.error().message;
  EXPECT_EQ(pcm->samples, original);
}

TEST(Decoder, ParsesDeclaredFormats) {
  EXPECT_EQ(*parse_input_format("webm-opus"), InputFormat::webm);
  EXPECT_EQ(*parse_input_format("webm"), InputFormat::webm);
  EXPECT_EQ(*parse_input_format("ogg-opus"), InputFormat::ogg);
  EXPECT_EQ(*parse_input_format("ogg"), InputFormat::ogg);
  EXPECT_EQ(*parse_input_format("wav"), InputFormat::wav);
  EXPECT_EQ(*parse_input_format("mp3"), InputFormat::mp3);
  EXPECT_EQ(*parse_input_format("m4a"), InputFormat::m4a);
  EXPECT_EQ(*parse_input_format("mp4"), InputFormat::m4a);
  EXPECT_EQ(*parse_input_format("aac"), InputFormat::m4a);
  EXPECT_EQ(*parse_input_format("flac"), InputFormat::flac);
  EXPECT_EQ(*parse_input_format("auto"), InputFormat::probe);
  EXPECT_EQ(*parse_input_format("probe"), InputFormat::probe);
  const auto bad = parse_input_format("hls");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::unsupported_media_type);
  for (const auto f : {InputFormat::probe, InputFormat::webm, InputFormat::ogg, InputFormat::wav,
                       InputFormat::mp3, InputFormat::m4a, InputFormat::flac}) {
    EXPECT_EQ(*parse_input_format(to_string(f)), f);
  }
}

Error decode_error(std::string_view bytes, InputFormat format = InputFormat::probe,
                   DecodeLimits limits = {}) {
  auto pcm = decode_all(bytes, format, limits);
  EXPECT_FALSE(pcm);
  return pcm ? Error{} : pcm.error();
}

TEST(Decoder, RandomBytesAreNotAudio) {
  std::mt19937 rng(42);
  for (int i = 0; i < 20; ++i) {
    std::string bytes(1000 + i * 997, '\0');
    for (auto& b : bytes) b = static_cast<char>(rng());
    auto pcm = decode_all(bytes, InputFormat::probe, DecodeLimits{});
    ASSERT_FALSE(pcm);
    EXPECT_TRUE(pcm.error().code == Errc::unsupported_media_type ||
                pcm.error().code == Errc::validation_failed)
        << pcm.error().message;
  }
  std::string bytes(4096, '\0');
  for (auto& b : bytes) b = static_cast<char>(rng());
  EXPECT_EQ(decode_error(bytes).code, Errc::unsupported_media_type);
}

TEST(Decoder, PngIsNamedInTheError) {
  TempDir dir;
  const auto png = dir.path() / "red.png";
  testing::ffmpeg(
      {"-f", "lavfi", "-i", "color=c=red:s=16x16:d=0.04", "-frames:v", "1", png.string()});
  const auto error = decode_error(testing::read_file(png));
  EXPECT_EQ(error.code, Errc::unsupported_media_type);
  EXPECT_EQ(error.message, "not an audio file (found: png)");
}

TEST(Decoder, HtmlIsNotAudio) {
  const auto error = decode_error(
      "<!DOCTYPE html>\n<html><head><title>x</title></head><body><p>Hello</p>"
      "<script>alert(1)</script></body></html>\n");
  EXPECT_EQ(error.code, Errc::unsupported_media_type);
  EXPECT_NE(error.message.find("not an audio file"), std::string::npos);
}

TEST(Decoder, EmptyInputIsRejected) {
  EXPECT_EQ(decode_error("").code, Errc::validation_failed);
  EXPECT_EQ(decode_error("", InputFormat::webm).code, Errc::validation_failed);
}

TEST(Decoder, VideoWithoutAudioIsNotAnAudioFile) {
  TempDir dir;
  const auto mkv = dir.path() / "video.webm";
  testing::ffmpeg({"-f", "lavfi", "-i", "color=c=red:s=32x32:d=0.2", "-c:v", "mjpeg", "-f",
                   "matroska", mkv.string()});
  const auto error = decode_error(testing::read_file(mkv));
  EXPECT_EQ(error.code, Errc::unsupported_media_type);
  EXPECT_NE(error.message.find("no audio stream"), std::string::npos) << error.message;
}

TEST(Decoder, DeclaredFormatMustMatchTheBytes) {
  TempDir dir;
  const auto mp3 = testing::encode(testing::goforward(), dir.path(), {"-c:a", "libmp3lame"}, "mp3");
  const auto error = decode_error(mp3, InputFormat::webm);
  EXPECT_EQ(error.code, Errc::unsupported_media_type);
  EXPECT_EQ(error.message, "declared webm but the data is mp3");
  EXPECT_EQ(decode_error(mp3, InputFormat::ogg).message, "declared ogg but the data is mp3");
}

TEST(Decoder, TruncatedWebmKeepsWhatDecoded) {
  TempDir dir;
  const auto original = testing::goforward();
  const auto webm = testing::encode(original, dir.path(),
                                    {"-c:a", "libopus", "-f", "webm", "-live", "1"}, "webm");
  auto half = decode_all(std::string_view(webm).substr(0, webm.size() / 2), InputFormat::webm, {});
  ASSERT_TRUE(half) << half.error().message;
  EXPECT_GT(half->samples.size(), original.size() / 4);
  EXPECT_LT(half->samples.size(), original.size() * 3 / 4);
  // Only the EBML header and track info: a recognised container with nothing decodable.
  const auto header_only = decode_error(std::string_view(webm).substr(0, 300), InputFormat::webm);
  EXPECT_EQ(header_only.code, Errc::validation_failed) << header_only.message;
}

TEST(Decoder, CorruptMiddleKeepsWhatDecodedBefore) {
  TempDir dir;
  const auto original = testing::goforward();
  auto webm = testing::encode(original, dir.path(), {"-c:a", "libopus", "-f", "webm"}, "webm");
  std::mt19937 rng(7);
  for (std::size_t i = webm.size() / 3; i < webm.size() / 3 + 2000; ++i) {
    webm[i] = static_cast<char>(rng());
  }
  auto pcm = decode_all(webm, InputFormat::webm, {});
  ASSERT_TRUE(pcm) << pcm.error().message;
  EXPECT_GT(pcm->samples.size(), original.size() / 4);
  EXPECT_GT(
      testing::envelope_similarity(std::span(original).first(pcm->samples.size() * 9 / 10),
                                   std::span(pcm->samples).first(pcm->samples.size() * 9 / 10)),
      0.9);
}

TEST(Decoder, LongerThanTheLimitIsTooLarge) {
  TempDir dir;
  const auto original = testing::goforward();  // ~2.8 s
  DecodeLimits limits;
  limits.max_duration = 1s;
  for (const auto& [args, ext] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"-c:a", "libopus", "-f", "webm", "-live", "1"}, "webm"},  // no declared duration
           {{"-c:a", "flac"}, "flac"}}) {
    const auto file = testing::encode(original, dir.path(), args, ext);
    const auto error = decode_error(file, InputFormat::probe, limits);
    EXPECT_EQ(error.code, Errc::payload_too_large) << ext;
    EXPECT_EQ(error.message, "audio is longer than the 1 s limit");
  }
}

TEST(Decoder, ChannelAndRateLimits) {
  TempDir dir;
  const auto original = testing::goforward();
  const auto stereo = testing::encode(original, dir.path(), {"-ac", "3"}, "wav");
  DecodeLimits limits;
  limits.max_channels = 2;
  EXPECT_EQ(decode_error(stereo, InputFormat::wav, limits).code, Errc::validation_failed);
  const auto hi = testing::encode(original, dir.path(), {"-ar", "96000"}, "wav");
  limits = DecodeLimits{};
  limits.max_sample_rate = 48000;
  EXPECT_EQ(decode_error(hi, InputFormat::wav, limits).code, Errc::validation_failed);
}

TEST(Decoder, StreamsFramesToTheSinkAsTheyDecode) {
  TempDir dir;
  const auto original = testing::goforward();
  const auto webm =
      testing::encode(original, dir.path(), {"-c:a", "libopus", "-f", "webm"}, "webm");
  MemorySource source(webm);
  int calls = 0;
  std::size_t total = 0;
  auto summary = decode_stream(source, InputFormat::webm, {}, [&](std::span<const std::int16_t> s) {
    ++calls;
    total += s.size();
    return true;
  });
  ASSERT_TRUE(summary) << summary.error().message;
  EXPECT_EQ(summary->container, "webm");
  EXPECT_EQ(summary->codec, "opus");
  EXPECT_EQ(static_cast<std::size_t>(summary->samples_out), total);
  EXPECT_GT(calls, 50);  // 20 ms Opus frames: one call each, not one at the end

  MemorySource again(webm);
  auto stopped = decode_stream(again, InputFormat::webm, {}, [](auto) { return false; });
  ASSERT_FALSE(stopped);
  EXPECT_EQ(stopped.error().code, Errc::internal);
}

}  // namespace
}  // namespace parley::speech::audio
