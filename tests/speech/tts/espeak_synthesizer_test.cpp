#include "speech/tts/espeak_synthesizer.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "tts_test_support.hpp"

namespace parley::speech::tts {
namespace {

using testing::shared_espeak;
using testing::TempDir;

struct Sentence {
  const char* language;
  const char* text;
  int words;
};

class EspeakLanguages : public ::testing::TestWithParam<Sentence> {};

TEST_P(EspeakLanguages, SpeaksAPlausibleDuration) {
  const Sentence s = GetParam();
  TempDir dir;
  auto speech = shared_espeak().synthesize({s.text, s.language, {}, {}}, AudioFormat::ogg_opus);
  ASSERT_TRUE(speech) << speech.error().message;
  EXPECT_EQ(speech->format, AudioFormat::ogg_opus);
  // Normal speech runs at 2-4 words per second; espeak's default is 175 wpm (~2.9/s).
  const double seconds = static_cast<double>(speech->duration.count()) / 1000.0;
  EXPECT_GT(seconds, s.words * 0.2) << s.language;
  EXPECT_LT(seconds, s.words * 0.7 + 1.0) << s.language;

  testing::write_file(dir / "s.ogg", speech->audio);
  const auto probe = testing::ffprobe(dir / "s.ogg");
  ASSERT_TRUE(probe.ok);
  EXPECT_EQ(probe.codec, "opus");
  EXPECT_NEAR(probe.duration, seconds, 0.1);
  // Real speech, not silence.
  EXPECT_GT(testing::rms(testing::decode_with_ffmpeg(dir / "s.ogg", 16000)), 300.0);
}

INSTANTIATE_TEST_SUITE_P(
    Languages, EspeakLanguages,
    ::testing::Values(
        Sentence{"es", "Buenos días, ¿cómo estás? Hoy hace muy buen tiempo en Madrid.", 11},
        Sentence{"fr", "Bonjour à tous, nous commençons la réunion dans cinq minutes.", 10},
        Sentence{"en-US", "The quick brown fox jumps over the lazy dog near the river bank.", 13},
        Sentence{"pt-BR", "Olá, tudo bem com você? Vamos conversar amanhã.", 8},
        Sentence{"zh", "你好，今天天气很好。", 5}));

TEST(Espeak, MapsLanguageTagsToVoices) {
  auto& tts = shared_espeak();
  EXPECT_EQ(tts.voice_for("en-US"), "en-US");
  EXPECT_EQ(tts.voice_for("en_us"), "en-US");
  EXPECT_EQ(tts.voice_for("es"), "es");
  EXPECT_EQ(tts.voice_for("fr"), "fr");
  EXPECT_EQ(tts.voice_for("pt-BR"), "pt-BR");
  EXPECT_EQ(tts.voice_for("zh"), "cmn");
  EXPECT_EQ(tts.voice_for("no"), "nb");
  EXPECT_EQ(tts.voice_for("de-AT"), "de");  // falls back to the primary subtag
  EXPECT_TRUE(tts.supports("ru"));
  EXPECT_FALSE(tts.supports("tlh-x-klingon-nope"));
  EXPECT_FALSE(tts.supports("xx"));
  EXPECT_FALSE(tts.supports(""));
  EXPECT_EQ(tts.name(), "espeak-ng");
}

TEST(Espeak, RejectsUnsupportedLanguageAndVoice) {
  auto& tts = shared_espeak();
  auto r = tts.synthesize({"hello", "xx-YY", {}, {}}, AudioFormat::wav);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unsupported);
  auto v = tts.synthesize({"hello", "en", std::string("no-such-voice"), {}}, AudioFormat::wav);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, Errc::unsupported);
  auto bad_variant = tts.synthesize({"hello", "en", std::string("en+../x"), {}}, AudioFormat::wav);
  ASSERT_FALSE(bad_variant);
  EXPECT_EQ(bad_variant.error().code, Errc::unsupported);
}

TEST(Espeak, RejectsEmptyAndTooLongText) {
  auto& tts = shared_espeak();
  EXPECT_EQ(tts.synthesize({"", "en", {}, {}}, AudioFormat::wav).error().code,
            Errc::validation_failed);
  EXPECT_EQ(tts.synthesize({"  \n ", "en", {}, {}}, AudioFormat::wav).error().code,
            Errc::validation_failed);
  const std::string long_text(kMaxSynthesisChars + 1, 'a');
  EXPECT_EQ(tts.synthesize({long_text, "en", {}, {}}, AudioFormat::wav).error().code,
            Errc::validation_failed);
  // The limit counts characters, not bytes: 5000 "é" (10000 bytes) are allowed.
  std::string accented;
  for (std::size_t i = 0; i < kMaxSynthesisChars; ++i) accented += "\xc3\xa9";
  EXPECT_EQ(utf8_length(accented), kMaxSynthesisChars);
  EXPECT_TRUE(validate_text(accented));
  EXPECT_FALSE(validate_text(accented + "a"));
}

TEST(Espeak, OnlyOneInstancePerProcess) {
  (void)shared_espeak();
  auto second = EspeakSynthesizer::create();
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, Errc::busy);
}

TEST(Espeak, ExplicitVoiceWithVariant) {
  auto pcm = shared_espeak().synthesize_pcm({"Hello there", "en", std::string("en-US+f3"), {}});
  ASSERT_TRUE(pcm) << pcm.error().message;
  EXPECT_EQ(pcm->sample_rate, EspeakSynthesizer::kSampleRate);
  EXPECT_GT(pcm->samples.size(), 10000u);
}

TEST(Espeak, ProfileChangesRate) {
  auto& tts = shared_espeak();
  const std::string text = "This sentence is spoken once slowly and once quickly by the engine.";
  VoiceProfile slow{120, 100, VoiceProfile::Gender::male, "m3"};
  VoiceProfile fast{120, 300, VoiceProfile::Gender::male, "m3"};
  auto a = tts.synthesize_pcm({text, "en", {}, slow});
  auto b = tts.synthesize_pcm({text, "en", {}, fast});
  ASSERT_TRUE(a && b);
  EXPECT_GT(a->duration().count(), b->duration().count() * 2);
  // Parameters do not leak into the next plain request.
  auto c1 = tts.synthesize_pcm({text, "en", {}, {}});
  auto c2 = tts.synthesize_pcm({text, "en", {}, {}});
  ASSERT_TRUE(c1 && c2);
  // espeak-ng varies lengths by a few samples between runs.
  EXPECT_NEAR(static_cast<double>(c1->samples.size()), static_cast<double>(c2->samples.size()),
              c1->samples.size() * 0.01);
  EXPECT_LT(c1->duration().count(), a->duration().count());
  EXPECT_GT(c1->duration().count(), b->duration().count());
}

TEST(Espeak, ConcurrentCallsAreSerialized) {
  auto& tts = shared_espeak();
  auto reference = tts.synthesize_pcm({"Concurrent speech test", "en", {}, {}});
  ASSERT_TRUE(reference);
  std::vector<std::thread> threads;
  std::vector<std::size_t> sizes(4);
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    threads.emplace_back([&, i] {
      auto r = tts.synthesize_pcm({"Concurrent speech test", "en", {}, {}});
      sizes[i] = r ? r->samples.size() : 0;
    });
  }
  for (auto& t : threads) t.join();
  for (auto s : sizes) {
    EXPECT_NEAR(static_cast<double>(s), static_cast<double>(reference->samples.size()),
                reference->samples.size() * 0.01);
  }
}

TEST(Espeak, PitchParameterMapping) {
  EXPECT_EQ(espeak_pitch_for(0, VoiceProfile::Gender::male), 50);
  EXPECT_LT(espeak_pitch_for(90, VoiceProfile::Gender::male), 50);
  EXPECT_GT(espeak_pitch_for(160, VoiceProfile::Gender::male), 50);
  EXPECT_EQ(espeak_pitch_for(10000, VoiceProfile::Gender::female), 100);
  EXPECT_EQ(espeak_pitch_for(1, VoiceProfile::Gender::female), 0);
}

}  // namespace
}  // namespace parley::speech::tts
