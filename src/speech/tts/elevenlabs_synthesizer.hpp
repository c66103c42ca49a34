#pragma once
// SpeechSynthesizer over ElevenLabs: natural voices and cloned voices, when an API key is
// configured. MP3 comes straight from the service; Ogg/Opus and WAV are encoded locally from the
// service's raw 22,050 Hz PCM.

#include <string_view>

#include "speech/tts/elevenlabs_client.hpp"
#include "speech/tts/synthesizer.hpp"

namespace parley::speech::tts {

class ElevenLabsSynthesizer final : public SpeechSynthesizer {
 public:
  /// `client` must outlive the synthesizer.
  explicit ElevenLabsSynthesizer(ElevenLabsClient& client) : client_(client) {}

  std::string_view name() const noexcept override { return "elevenlabs"; }
  /// The 29 languages of eleven_multilingual_v2 (primary subtag; "fil" for Filipino).
  bool supports(std::string_view language) const noexcept override;
  /// Blocking. request.voice: an ElevenLabs voice_id (else the configured default voice);
  /// request.profile is ignored (cloned voices are real voice ids).
  /// Errors: unsupported (language, or no voice configured/unknown voice), validation_failed
  /// (text), unavailable / timeout / rate_limited (service), internal (encoding).
  Result<SynthesizedSpeech> synthesize(const SynthesisRequest& request,
                                       AudioFormat format) override;

 private:
  ElevenLabsClient& client_;
};

}  // namespace parley::speech::tts
