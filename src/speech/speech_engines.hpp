#pragma once
// Which engine serves which language. The embedded engines (pocketsphinx for en-US speech,
// espeak-ng for synthesis) work offline and are the defaults; a cloud engine (OpenAI-compatible
// transcription, ElevenLabs) is used where its key is configured and the policy asks for it, or
// where the embedded engine cannot serve the language. A language nobody serves is an
// Errc::unsupported error naming the language, never a silent fallback.

#include <memory>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "speech/stt/recognizer.hpp"
#include "speech/tts/synthesizer.hpp"

namespace parley::speech {

/// "auto": embedded where it supports the language, else cloud. "embedded"/"cloud": only that.
enum class EnginePolicy { automatic, embedded_only, cloud_only };

class SpeechEngines {
 public:
  /// Any engine may be null (not configured). The object owns them.
  SpeechEngines(std::unique_ptr<stt::SpeechRecognizer> embedded_stt,
                std::unique_ptr<stt::SpeechRecognizer> cloud_stt, EnginePolicy stt_policy,
                std::unique_ptr<tts::SpeechSynthesizer> embedded_tts,
                std::unique_ptr<tts::SpeechSynthesizer> cloud_tts, EnginePolicy tts_policy);
  ~SpeechEngines();
  SpeechEngines(const SpeechEngines&) = delete;
  SpeechEngines& operator=(const SpeechEngines&) = delete;

  /// Errors: unsupported, naming the language and the engines that were considered.
  Result<stt::SpeechRecognizer*> recognizer_for(std::string_view language) const;
  /// Errors: unsupported, as above.
  Result<tts::SpeechSynthesizer*> synthesizer_for(std::string_view language) const;
  /// Lets the embedded recognizer load its models for `streams` streams ahead of time (unless
  /// the policy never uses it). BLOCKING.
  Result<void> prepare_recognition(std::size_t streams) const;
  /// The cloud synthesizer, when configured (voice clones live there).
  tts::SpeechSynthesizer* cloud_synthesizer() const { return cloud_tts_.get(); }
  tts::SpeechSynthesizer* embedded_synthesizer() const { return embedded_tts_.get(); }

 private:
  std::unique_ptr<stt::SpeechRecognizer> embedded_stt_;
  std::unique_ptr<stt::SpeechRecognizer> cloud_stt_;
  EnginePolicy stt_policy_;
  std::unique_ptr<tts::SpeechSynthesizer> embedded_tts_;
  std::unique_ptr<tts::SpeechSynthesizer> cloud_tts_;
  EnginePolicy tts_policy_;
};

}  // namespace parley::speech
