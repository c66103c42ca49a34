#pragma once
// The embedded text-to-speech engine: espeak-ng (131 voices, offline, ~1,500x real time,
// robotic). The default engine.
//
// espeak-ng keeps process-wide state (one current voice, one set of parameters, one output
// callback), so:
// - at most ONE EspeakSynthesizer may exist per process: create() refuses a second one while the
//   first lives (a static atomic flag, the module's only global);
// - every call into the library is serialized by the instance's mutex, so the object is safe to
//   share between worker threads (calls simply queue).

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "speech/tts/pcm.hpp"
#include "speech/tts/synthesizer.hpp"

namespace parley::speech::tts {

class EspeakSynthesizer final : public SpeechSynthesizer {
 public:
  /// Output rate of espeak-ng's voices.
  static constexpr int kSampleRate = 22050;

  /// Initialises espeak-ng (data from the distribution's espeak-ng-data).
  /// Errors: busy (another EspeakSynthesizer is alive in this process), unavailable (espeak-ng
  /// or its data cannot be loaded).
  static Result<std::unique_ptr<EspeakSynthesizer>> create();

  ~EspeakSynthesizer() override;
  EspeakSynthesizer(const EspeakSynthesizer&) = delete;
  EspeakSynthesizer& operator=(const EspeakSynthesizer&) = delete;

  std::string_view name() const noexcept override { return "espeak-ng"; }
  bool supports(std::string_view language) const noexcept override;

  /// Blocking (fast: ~1,500x real time); serialized with every other call on this object.
  /// request.voice: an espeak-ng voice file name ("en-US", "fr", "es-419"), optionally with a
  /// variant ("en-US+f3"). request.profile: sets pitch, rate and variant (an explicit variant in
  /// request.voice wins). Errors: unsupported (language/voice), validation_failed (text),
  /// internal (synthesis or encoding failure).
  Result<SynthesizedSpeech> synthesize(const SynthesisRequest& request,
                                       AudioFormat format) override;

  /// Same, but returns the raw 22,050 Hz PCM (for voice-profile checks and local mixing).
  Result<Pcm> synthesize_pcm(const SynthesisRequest& request);

  /// The espeak-ng voice name used for `language` ("en-US" → "en-US", "zh" → "cmn"), or nullopt.
  std::optional<std::string> voice_for(std::string_view language) const;

 private:
  EspeakSynthesizer() = default;

  // Language tag (lower case, '-' separated) → voice file name, best priority first.
  std::map<std::string, std::string, std::less<>> voice_by_language_;
  // Voice file names (lower case) → as espeak spells them.
  std::map<std::string, std::string, std::less<>> voice_names_;
  std::mutex mutex_;  // serializes every espeak-ng call
};

/// espeak-ng pitch parameter (0-100, 50 = the voice's default) approximating `pitch_hz` with the
/// given variant's base pitch. Exposed for tests.
int espeak_pitch_for(double pitch_hz, VoiceProfile::Gender gender) noexcept;

}  // namespace parley::speech::tts
