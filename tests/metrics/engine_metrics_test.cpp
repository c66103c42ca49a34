// The engine decorators: results pass through unchanged, and latency, volume and errors by code
// are counted per engine.

#include "metrics/engine_metrics.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace parley::metrics {
namespace {

namespace stt = speech::stt;
namespace tts = speech::tts;

bool contains(const std::string& text, const std::string& line) {
  return text.find(line) != std::string::npos;
}

class FakeTranslator final : public translate::Translator {
 public:
  std::string_view name() const noexcept override { return "fake-mt"; }
  bool supports(std::string_view, std::string_view target) const override { return target != "xx"; }
  Result<translate::Translation> translate(std::string_view text, std::string_view source,
                                           std::string_view target) override {
    if (target == "xx") return fail(Errc::unsupported, "no pair");
    if (text.empty()) return fail(Errc::validation_failed, "empty");
    return translate::Translation{
        "[" + std::string(text) + "]", std::string(source), std::string(target), "fake-mt", {}};
  }
};

class FakeStream final : public stt::RecognitionStream {
 public:
  Result<std::optional<std::string>> accept(std::span<const std::int16_t> pcm) override {
    if (pcm.size() > 32000) return fail(Errc::payload_too_large, "too long");
    return std::optional<std::string>{};
  }
  Result<stt::Transcript> finish() override { return stt::Transcript{"hello", "en"}; }
};

class FakeRecognizer final : public stt::SpeechRecognizer {
 public:
  std::string_view name() const noexcept override { return "fake-stt"; }
  bool supports(std::string_view language) const noexcept override { return language == "en"; }
  bool gives_partials() const noexcept override { return true; }
  Result<std::unique_ptr<stt::RecognitionStream>> start(std::string_view language) override {
    if (language != "en") return fail(Errc::unsupported, "language");
    return std::unique_ptr<stt::RecognitionStream>(std::make_unique<FakeStream>());
  }
  Result<void> prepare(std::size_t streams) override {
    prepared = streams;
    return {};
  }
  std::size_t prepared = 0;
};

class FakeSynthesizer final : public tts::SpeechSynthesizer {
 public:
  std::string_view name() const noexcept override { return "fake-tts"; }
  bool supports(std::string_view) const noexcept override { return true; }
  Result<tts::SynthesizedSpeech> synthesize(const tts::SynthesisRequest& request,
                                            tts::AudioFormat format) override {
    if (request.text.empty()) return fail(Errc::validation_failed, "empty");
    return tts::SynthesizedSpeech{"audio", format, std::chrono::milliseconds(100)};
  }
};

TEST(EngineMetrics, TranslatorDecoratorCountsRequestsCharactersAndErrors) {
  Registry registry;
  EngineMetrics metrics(registry);
  FakeTranslator engine;
  auto decorated = metrics.instrument(engine);
  EXPECT_EQ(decorated->name(), "fake-mt");
  EXPECT_TRUE(decorated->supports("en", "es"));
  auto ok = decorated->translate("héllo", "fr", "es");  // 5 characters, 6 bytes
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->text, "[héllo]");
  EXPECT_FALSE(decorated->translate("x", "en", "xx"));
  EXPECT_FALSE(decorated->translate("", "en", "es"));
  const auto text = registry.render();
  EXPECT_TRUE(contains(text, "parley_translation_requests_total{engine=\"fake-mt\"} 1\n")) << text;
  EXPECT_TRUE(contains(text, "parley_translated_characters_total{engine=\"fake-mt\"} 5\n"));
  EXPECT_TRUE(contains(
      text, "parley_translation_errors_total{engine=\"fake-mt\",code=\"unsupported\"} 1\n"));
  EXPECT_TRUE(contains(
      text, "parley_translation_errors_total{engine=\"fake-mt\",code=\"validation_failed\"} 1\n"));
  EXPECT_TRUE(contains(text, "parley_translation_duration_seconds_count{engine=\"fake-mt\"} 1\n"));
  EXPECT_EQ(metrics.translated_characters_total(), 5);
}

TEST(EngineMetrics, RecognizerDecoratorCountsAudioUtterancesAndErrors) {
  Registry registry;
  EngineMetrics metrics(registry);
  auto fake = std::make_unique<FakeRecognizer>();
  auto* raw = fake.get();
  auto decorated = metrics.instrument(std::unique_ptr<stt::SpeechRecognizer>(std::move(fake)));
  ASSERT_TRUE(decorated->prepare(3));
  EXPECT_EQ(raw->prepared, 3u) << "prepare reaches the engine";
  EXPECT_TRUE(decorated->gives_partials());
  EXPECT_FALSE(decorated->start("fr"));
  auto stream = decorated->start("en");
  ASSERT_TRUE(stream);
  std::vector<std::int16_t> second(16000);
  ASSERT_TRUE((*stream)->accept(second));
  ASSERT_TRUE((*stream)->accept(second));
  std::vector<std::int16_t> too_long(40000);
  EXPECT_FALSE((*stream)->accept(too_long));
  auto final_text = (*stream)->finish();
  ASSERT_TRUE(final_text);
  EXPECT_EQ(final_text->text, "hello");
  const auto text = registry.render();
  EXPECT_TRUE(contains(text, "parley_stt_utterances_total{engine=\"fake-stt\"} 1\n")) << text;
  EXPECT_TRUE(
      contains(text, "parley_stt_errors_total{engine=\"fake-stt\",code=\"unsupported\"} 1\n"));
  EXPECT_TRUE(contains(
      text, "parley_stt_errors_total{engine=\"fake-stt\",code=\"payload_too_large\"} 1\n"));
  EXPECT_TRUE(contains(text, "parley_stt_audio_seconds_total{engine=\"fake-stt\"} 4.5\n"));
  EXPECT_TRUE(contains(text, "parley_stt_finish_duration_seconds_count{engine=\"fake-stt\"} 1\n"));
  EXPECT_EQ(metrics.audio_seconds_total(), 4.5);
}

TEST(EngineMetrics, SynthesizerDecoratorCountsTextsAndErrors) {
  Registry registry;
  EngineMetrics metrics(registry);
  auto decorated = metrics.instrument(
      std::unique_ptr<tts::SpeechSynthesizer>(std::make_unique<FakeSynthesizer>()));
  tts::SynthesisRequest request;
  request.text = "hola";
  request.language = "es";
  auto audio = decorated->synthesize(request, tts::AudioFormat::ogg_opus);
  ASSERT_TRUE(audio);
  EXPECT_EQ(audio->audio, "audio");
  request.text.clear();
  EXPECT_FALSE(decorated->synthesize(request, tts::AudioFormat::ogg_opus));
  const auto text = registry.render();
  EXPECT_TRUE(contains(text, "parley_tts_requests_total{engine=\"fake-tts\"} 1\n")) << text;
  EXPECT_TRUE(contains(text, "parley_tts_characters_total{engine=\"fake-tts\"} 4\n"));
  EXPECT_TRUE(contains(
      text, "parley_tts_errors_total{engine=\"fake-tts\",code=\"validation_failed\"} 1\n"));
}

TEST(EngineMetrics, NullEnginesStayNull) {
  Registry registry;
  EngineMetrics metrics(registry);
  EXPECT_EQ(metrics.instrument(std::unique_ptr<stt::SpeechRecognizer>()), nullptr);
  EXPECT_EQ(metrics.instrument(std::unique_ptr<tts::SpeechSynthesizer>()), nullptr);
  EXPECT_EQ(metrics.instrument(std::unique_ptr<translate::Translator>()), nullptr);
}

}  // namespace
}  // namespace parley::metrics
