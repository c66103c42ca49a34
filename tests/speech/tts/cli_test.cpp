#include "speech/tts/cli.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "fake_elevenlabs.hpp"
#include "speech/tts/elevenlabs_synthesizer.hpp"
#include "tts_test_support.hpp"

namespace parley::speech::tts {
namespace {

struct Outcome {
  int code;
  std::string out;
  std::string err;
};

Outcome run_cli(std::vector<std::string> args, const TtsEngines& engines) {
  std::ostringstream out;
  std::ostringstream err;
  const int code = run_tts_command(args, out, err, engines);
  return {code, out.str(), err.str()};
}

TtsEngines embedded() { return TtsEngines{&testing::shared_espeak(), nullptr}; }

TEST(TtsCli, WritesPlayableFiles) {
  testing::TempDir dir;
  const auto ogg = (dir / "out.ogg").string();
  auto r = run_cli({"Hola, ¿qué tal?", "--lang", "es", "-o", ogg}, embedded());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("espeak-ng"), std::string::npos);
  auto probe = testing::ffprobe(ogg);
  EXPECT_EQ(probe.codec, "opus");
  EXPECT_GT(probe.duration, 0.5);

  const auto mp3 = (dir / "out.mp3").string();
  r = run_cli({"--lang", "fr", "Bonjour", "-o", mp3}, embedded());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(testing::ffprobe(mp3).codec, "mp3");

  // --format wins over the extension.
  const auto odd = (dir / "speech.bin").string();
  r = run_cli({"Hello", "-o", odd, "--format", "wav", "--voice", "en-US+m3"}, embedded());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(testing::ffprobe(odd).codec, "pcm_s16le");
}

TEST(TtsCli, UsageErrorsReturn2) {
  testing::TempDir dir;
  const auto ogg = (dir / "x.ogg").string();
  for (const auto& args :
       std::vector<std::vector<std::string>>{{},
                                             {"text only"},
                                             {"-o", ogg},
                                             {"a", "b", "-o", ogg},
                                             {"text", "-o", ogg, "--bogus"},
                                             {"text", "-o", ogg, "--lang"},
                                             {"text", "-o", (dir / "x.flac").string()},
                                             {"text", "-o", (dir / "noext").string()},
                                             {"text", "-o", ogg, "--format", "aac"},
                                             {"text", "-o", ogg, "--engine", "sapi"}}) {
    const auto r = run_cli(args, embedded());
    EXPECT_EQ(r.code, 2) << (args.empty() ? "(none)" : args[0]);
    EXPECT_NE(r.err.find("usage: parley tts"), std::string::npos);
  }
  EXPECT_FALSE(std::filesystem::exists(ogg));
  const auto help = run_cli({"--help"}, embedded());
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("usage:"), std::string::npos);
}

TEST(TtsCli, EngineErrorsReturn1) {
  testing::TempDir dir;
  const auto ogg = (dir / "x.ogg").string();
  auto r = run_cli({"text", "--lang", "xx", "-o", ogg}, embedded());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("cannot speak"), std::string::npos);
  r = run_cli({"text", "-o", ogg, "--voice", "nope"}, embedded());
  EXPECT_EQ(r.code, 1);
  r = run_cli({"text", "-o", ogg, "--engine", "elevenlabs"}, embedded());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("ELEVENLABS_API_KEY"), std::string::npos);
  r = run_cli({"text", "-o", (dir / "missing" / "x.ogg").string()}, embedded());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("cannot write"), std::string::npos);
}

TEST(TtsCli, UsesElevenLabsWhenConfigured) {
  auto& fake = testing::FakeElevenLabs::instance();
  fake.reset();
  ElevenLabsOptions options;
  options.base_url = fake.base_url();
  options.api_key = "el-test";
  options.default_voice_id = "21m00Tcm4TlvDq8ikWAM";
  ElevenLabsClient client(fake.http(), options);
  ElevenLabsSynthesizer cloud(client);
  testing::TempDir dir;
  const auto mp3 = (dir / "el.mp3").string();
  auto r = run_cli({"Hello from the cloud", "--lang", "en", "-o", mp3},
                   TtsEngines{&testing::shared_espeak(), &cloud});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("elevenlabs"), std::string::npos);
  EXPECT_EQ(testing::ffprobe(mp3).codec, "mp3");
  EXPECT_EQ(fake.requests().size(), 1u);
  // --engine espeak-ng overrides the default.
  r = run_cli({"Hello", "-o", mp3, "--engine", "espeak-ng"},
              TtsEngines{&testing::shared_espeak(), &cloud});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("espeak-ng"), std::string::npos);
  EXPECT_EQ(fake.requests().size(), 1u);
}

}  // namespace
}  // namespace parley::speech::tts
