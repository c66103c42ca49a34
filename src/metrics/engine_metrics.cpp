#include "metrics/engine_metrics.hpp"

#include <chrono>

namespace parley::metrics {

namespace stt = speech::stt;
namespace tts = speech::tts;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void count_error(Family<Counter>& errors, const std::string& engine, const Error& error) {
  try {
    errors.with({engine, to_code(error.code)}).inc();
  } catch (...) {
    // Metrics never turn an engine's answer into an exception.
  }
}

}  // namespace

std::size_t count_characters(std::string_view text) noexcept {
  std::size_t n = 0;
  for (unsigned char c : text) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

struct EngineMetrics::SttEngine {
  std::string name;
  Counter* utterances = nullptr;
  Histogram* duration = nullptr;
  std::atomic<std::uint64_t> samples{0};
};

struct EngineMetrics::TtsEngine {
  std::string name;
  Counter* requests = nullptr;
  Histogram* duration = nullptr;
  Counter* characters = nullptr;
};

struct EngineMetrics::MtEngine {
  std::string name;
  Counter* requests = nullptr;
  Histogram* duration = nullptr;
  Counter* characters = nullptr;
};

namespace {

class InstrumentedStream final : public stt::RecognitionStream {
 public:
  InstrumentedStream(std::unique_ptr<stt::RecognitionStream> inner,
                     EngineMetrics::SttEngine& engine, Family<Counter>& errors)
      : inner_(std::move(inner)), engine_(engine), errors_(errors) {}

  Result<std::optional<std::string>> accept(std::span<const std::int16_t> pcm16k) override {
    engine_.samples.fetch_add(pcm16k.size(), std::memory_order_relaxed);
    auto result = inner_->accept(pcm16k);
    if (!result) count_error(errors_, engine_.name, result.error());
    return result;
  }

  Result<stt::Transcript> finish() override {
    const auto start = Clock::now();
    auto result = inner_->finish();
    if (result) {
      engine_.utterances->inc();
      engine_.duration->observe(seconds_since(start));
    } else {
      count_error(errors_, engine_.name, result.error());
    }
    return result;
  }

 private:
  std::unique_ptr<stt::RecognitionStream> inner_;
  EngineMetrics::SttEngine& engine_;
  Family<Counter>& errors_;
};

class InstrumentedRecognizer final : public stt::SpeechRecognizer {
 public:
  InstrumentedRecognizer(std::unique_ptr<stt::SpeechRecognizer> inner,
                         EngineMetrics::SttEngine& engine, Family<Counter>& errors)
      : inner_(std::move(inner)), engine_(engine), errors_(errors) {}

  std::string_view name() const noexcept override { return inner_->name(); }
  bool supports(std::string_view language) const noexcept override {
    return inner_->supports(language);
  }
  bool gives_partials() const noexcept override { return inner_->gives_partials(); }
  Result<std::unique_ptr<stt::RecognitionStream>> start(std::string_view language) override {
    return start_biased(language, {});
  }
  Result<std::unique_ptr<stt::RecognitionStream>> start_biased(
      std::string_view language, std::span<const stt::VocabularyTerm> vocabulary) override {
    auto stream = inner_->start_biased(language, vocabulary);
    if (!stream) {
      count_error(errors_, engine_.name, stream.error());
      return stream.error();
    }
    return std::unique_ptr<stt::RecognitionStream>(
        std::make_unique<InstrumentedStream>(std::move(*stream), engine_, errors_));
  }
  Result<void> prepare(std::size_t streams) override { return inner_->prepare(streams); }

 private:
  std::unique_ptr<stt::SpeechRecognizer> inner_;
  EngineMetrics::SttEngine& engine_;
  Family<Counter>& errors_;
};

class InstrumentedSynthesizer final : public tts::SpeechSynthesizer {
 public:
  InstrumentedSynthesizer(std::unique_ptr<tts::SpeechSynthesizer> inner,
                          EngineMetrics::TtsEngine& engine, Family<Counter>& errors)
      : inner_(std::move(inner)), engine_(engine), errors_(errors) {}

  std::string_view name() const noexcept override { return inner_->name(); }
  bool supports(std::string_view language) const noexcept override {
    return inner_->supports(language);
  }
  Result<tts::SynthesizedSpeech> synthesize(const tts::SynthesisRequest& request,
                                            tts::AudioFormat format) override {
    const auto start = Clock::now();
    auto result = inner_->synthesize(request, format);
    if (result) {
      engine_.requests->inc();
      engine_.characters->inc(count_characters(request.text));
      engine_.duration->observe(seconds_since(start));
    } else {
      count_error(errors_, engine_.name, result.error());
    }
    return result;
  }

 private:
  std::unique_ptr<tts::SpeechSynthesizer> inner_;
  EngineMetrics::TtsEngine& engine_;
  Family<Counter>& errors_;
};

class InstrumentedTranslator final : public translate::Translator {
 public:
  InstrumentedTranslator(translate::Translator& inner, std::unique_ptr<translate::Translator> owned,
                         EngineMetrics::MtEngine& engine, Family<Counter>& errors)
      : inner_(inner), owned_(std::move(owned)), engine_(engine), errors_(errors) {}

  std::string_view name() const noexcept override { return inner_.name(); }
  bool supports(std::string_view source, std::string_view target) const override {
    return inner_.supports(source, target);
  }
  Result<translate::Translation> translate(std::string_view text, std::string_view source,
                                           std::string_view target) override {
    const auto start = Clock::now();
    auto result = inner_.translate(text, source, target);
    if (result) {
      engine_.requests->inc();
      engine_.characters->inc(count_characters(text));
      engine_.duration->observe(seconds_since(start));
    } else {
      count_error(errors_, engine_.name, result.error());
    }
    return result;
  }
  Result<translate::Translation> translate_with_terms(
      std::string_view text, std::string_view source, std::string_view target,
      std::span<const translate::GlossaryEntry> terms) override {
    const auto start = Clock::now();
    auto result = inner_.translate_with_terms(text, source, target, terms);
    if (result) {
      engine_.requests->inc();
      engine_.characters->inc(count_characters(text));
      engine_.duration->observe(seconds_since(start));
    } else if (result.error().code != Errc::unsupported) {
      count_error(errors_, engine_.name, result.error());
    }
    return result;
  }

 private:
  translate::Translator& inner_;
  std::unique_ptr<translate::Translator> owned_;
  EngineMetrics::MtEngine& engine_;
  Family<Counter>& errors_;
};

}  // namespace

EngineMetrics::EngineMetrics(Registry& registry)
    : registry_(registry),
      stt_utterances_(registry.counter_family("parley_stt_utterances_total",
                                              "Utterances recognized, by engine.", {"engine"})),
      stt_errors_(registry.counter_family("parley_stt_errors_total",
                                          "Speech recognition failures, by engine and error code.",
                                          {"engine", "code"})),
      stt_duration_(registry.histogram_family(
          "parley_stt_finish_duration_seconds",
          "Time from the end of an utterance to its final transcript, by engine.", {"engine"},
          latency_buckets())),
      tts_requests_(registry.counter_family("parley_tts_requests_total",
                                            "Texts synthesized, by engine.", {"engine"})),
      tts_errors_(registry.counter_family("parley_tts_errors_total",
                                          "Speech synthesis failures, by engine and error code.",
                                          {"engine", "code"})),
      tts_duration_(registry.histogram_family("parley_tts_duration_seconds",
                                              "Time to synthesize one text, by engine.", {"engine"},
                                              latency_buckets())),
      tts_characters_(registry.counter_family("parley_tts_characters_total",
                                              "Characters synthesized, by engine.", {"engine"})),
      mt_requests_(registry.counter_family("parley_translation_requests_total",
                                           "Texts translated by an engine (cache hits excluded).",
                                           {"engine"})),
      mt_errors_(registry.counter_family("parley_translation_errors_total",
                                         "Translation failures, by engine and error code.",
                                         {"engine", "code"})),
      mt_duration_(registry.histogram_family("parley_translation_duration_seconds",
                                             "Time an engine took to translate one text.",
                                             {"engine"}, latency_buckets())),
      mt_characters_(registry.counter_family("parley_translated_characters_total",
                                             "Characters of source text translated, by engine.",
                                             {"engine"})) {
  registry.callback("parley_stt_audio_seconds_total", "Seconds of audio fed to speech recognition.",
                    Type::counter, {"engine"}, [this] {
                      std::vector<Sample> out;
                      std::lock_guard lock(mutex_);
                      for (const auto& engine : stt_) {
                        out.push_back({{engine->name},
                                       static_cast<double>(engine->samples.load()) /
                                           static_cast<double>(stt::kSampleRate)});
                      }
                      return out;
                    });
}

EngineMetrics::~EngineMetrics() = default;

EngineMetrics::SttEngine& EngineMetrics::stt_engine(std::string_view name) {
  std::lock_guard lock(mutex_);
  for (auto& engine : stt_) {
    if (engine->name == name) return *engine;
  }
  auto engine = std::make_unique<SttEngine>();
  engine->name = std::string(name);
  engine->utterances = &stt_utterances_.with({name});
  engine->duration = &stt_duration_.with({name});
  stt_.push_back(std::move(engine));
  return *stt_.back();
}

EngineMetrics::TtsEngine& EngineMetrics::tts_engine(std::string_view name) {
  std::lock_guard lock(mutex_);
  for (auto& engine : tts_) {
    if (engine->name == name) return *engine;
  }
  auto engine = std::make_unique<TtsEngine>();
  engine->name = std::string(name);
  engine->requests = &tts_requests_.with({name});
  engine->duration = &tts_duration_.with({name});
  engine->characters = &tts_characters_.with({name});
  tts_.push_back(std::move(engine));
  return *tts_.back();
}

EngineMetrics::MtEngine& EngineMetrics::mt_engine(std::string_view name) {
  std::lock_guard lock(mutex_);
  for (auto& engine : mt_) {
    if (engine->name == name) return *engine;
  }
  auto engine = std::make_unique<MtEngine>();
  engine->name = std::string(name);
  engine->requests = &mt_requests_.with({name});
  engine->duration = &mt_duration_.with({name});
  engine->characters = &mt_characters_.with({name});
  mt_.push_back(std::move(engine));
  return *mt_.back();
}

std::unique_ptr<stt::SpeechRecognizer> EngineMetrics::instrument(
    std::unique_ptr<stt::SpeechRecognizer> engine) {
  if (!engine) return nullptr;
  auto& stats = stt_engine(engine->name());
  return std::make_unique<InstrumentedRecognizer>(std::move(engine), stats, stt_errors_);
}

std::unique_ptr<tts::SpeechSynthesizer> EngineMetrics::instrument(
    std::unique_ptr<tts::SpeechSynthesizer> engine) {
  if (!engine) return nullptr;
  auto& stats = tts_engine(engine->name());
  return std::make_unique<InstrumentedSynthesizer>(std::move(engine), stats, tts_errors_);
}

std::unique_ptr<translate::Translator> EngineMetrics::instrument(
    std::unique_ptr<translate::Translator> engine) {
  if (!engine) return nullptr;
  auto& stats = mt_engine(engine->name());
  auto& inner = *engine;
  return std::make_unique<InstrumentedTranslator>(inner, std::move(engine), stats, mt_errors_);
}

std::unique_ptr<translate::Translator> EngineMetrics::instrument(translate::Translator& engine) {
  auto& stats = mt_engine(engine.name());
  return std::make_unique<InstrumentedTranslator>(engine, nullptr, stats, mt_errors_);
}

double EngineMetrics::audio_seconds_total() const {
  std::lock_guard lock(mutex_);
  double total = 0;
  for (const auto& engine : stt_) {
    total += static_cast<double>(engine->samples.load()) / static_cast<double>(stt::kSampleRate);
  }
  return total;
}

double EngineMetrics::translated_characters_total() const {
  std::lock_guard lock(mutex_);
  double total = 0;
  for (const auto& engine : mt_) total += static_cast<double>(engine->characters->value());
  return total;
}

}  // namespace parley::metrics
