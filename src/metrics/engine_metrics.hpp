#pragma once
// Metrics around the speech and translation engines, as decorators put in front of each engine
// by the composition root (no engine knows about metrics):
//   parley_stt_utterances_total{engine}, parley_stt_errors_total{engine,code},
//   parley_stt_finish_duration_seconds{engine}, parley_stt_audio_seconds_total{engine}
//   parley_tts_requests_total{engine}, parley_tts_errors_total{engine,code},
//   parley_tts_duration_seconds{engine}, parley_tts_characters_total{engine}
//   parley_translation_requests_total{engine}, parley_translation_errors_total{engine,code},
//   parley_translation_duration_seconds{engine}, parley_translated_characters_total{engine}
// `engine` is the engine's name(); `code` the Errc code (a fixed set).
//
// A decorator is exactly as thread-safe as the engine it wraps and adds atomic operations only
// (an error takes a family lock once per error).

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "metrics/registry.hpp"
#include "speech/stt/recognizer.hpp"
#include "speech/tts/synthesizer.hpp"
#include "translate/translator.hpp"

namespace parley::metrics {

class EngineMetrics {
 public:
  /// Registers the families above on `registry`, which must outlive this object and every
  /// decorator it makes.
  explicit EngineMetrics(Registry& registry);
  ~EngineMetrics();
  EngineMetrics(const EngineMetrics&) = delete;
  EngineMetrics& operator=(const EngineMetrics&) = delete;

  /// Decorators that own the engine (null in, null out). They must not outlive this object.
  std::unique_ptr<speech::stt::SpeechRecognizer> instrument(
      std::unique_ptr<speech::stt::SpeechRecognizer> engine);
  std::unique_ptr<speech::tts::SpeechSynthesizer> instrument(
      std::unique_ptr<speech::tts::SpeechSynthesizer> engine);
  std::unique_ptr<translate::Translator> instrument(std::unique_ptr<translate::Translator> engine);
  /// A decorator over an engine owned elsewhere (which must outlive the decorator).
  std::unique_ptr<translate::Translator> instrument(translate::Translator& engine);

  /// Totals over every engine since start (for the admin endpoint).
  [[nodiscard]] double audio_seconds_total() const;
  [[nodiscard]] double translated_characters_total() const;

  struct SttEngine;
  struct TtsEngine;
  struct MtEngine;

 private:
  SttEngine& stt_engine(std::string_view name);
  TtsEngine& tts_engine(std::string_view name);
  MtEngine& mt_engine(std::string_view name);

  Registry& registry_;
  Family<Counter>& stt_utterances_;
  Family<Counter>& stt_errors_;
  Family<Histogram>& stt_duration_;
  Family<Counter>& tts_requests_;
  Family<Counter>& tts_errors_;
  Family<Histogram>& tts_duration_;
  Family<Counter>& tts_characters_;
  Family<Counter>& mt_requests_;
  Family<Counter>& mt_errors_;
  Family<Histogram>& mt_duration_;
  Family<Counter>& mt_characters_;
  mutable std::mutex mutex_;  // guards the engine lists (appended at start-up, read by scrapes)
  std::vector<std::unique_ptr<SttEngine>> stt_;
  std::vector<std::unique_ptr<TtsEngine>> tts_;
  std::vector<std::unique_ptr<MtEngine>> mt_;
};

/// Counts UTF-8 code points (continuation bytes are not counted).
std::size_t count_characters(std::string_view text) noexcept;

}  // namespace parley::metrics
