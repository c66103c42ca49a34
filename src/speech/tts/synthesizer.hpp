#pragma once
// The text-to-speech engine interface. Engines know nothing of HTTP or Socket.IO: the API layer
// picks one (embedded espeak-ng by default, ElevenLabs when configured) and runs it on the
// worker pool, because synthesize() blocks.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "speech/tts/audio_encoder.hpp"

namespace parley::speech::tts {

/// What the embedded engine can match of a reference voice (see voice_profile.hpp). This is an
/// approximation, never a clone: report it as `approximate`.
struct VoiceProfile {
  double pitch_hz = 0;           ///< median F0 of voiced frames
  double speaking_rate_wpm = 0;  ///< estimated words per minute (0 = unknown)
  enum class Gender { unknown, female, male } gender = Gender::unknown;
  std::string espeak_variant;  ///< e.g. "f3" / "m3", chosen from the above
};

struct SynthesisRequest {
  std::string text;
  std::string language;  ///< BCP 47: "es", "fr", "en-US"...
  /// Engine voice id (an ElevenLabs voice_id, or an espeak-ng voice name such as "en-US" or
  /// "en-US+f3"); empty = the engine's default for the language.
  std::optional<std::string> voice;
  /// Approximate a user's voice (espeak-ng); ignored by engines that clone voices.
  std::optional<VoiceProfile> profile;
};

struct SynthesizedSpeech {
  std::string audio;  ///< a complete file in `format`
  AudioFormat format = AudioFormat::ogg_opus;
  std::chrono::milliseconds duration{0};
};

class SpeechSynthesizer {
 public:
  virtual ~SpeechSynthesizer() = default;

  /// "espeak-ng", "elevenlabs".
  virtual std::string_view name() const noexcept = 0;
  /// Whether `language` (BCP 47, case-insensitive) can be spoken.
  virtual bool supports(std::string_view language) const noexcept = 0;
  /// BLOCKING: run it on the worker pool.
  /// Errors: unsupported (language or voice), validation_failed (empty or too long text),
  /// unavailable / timeout / rate_limited (service), internal (encoder failure).
  virtual Result<SynthesizedSpeech> synthesize(const SynthesisRequest& request,
                                               AudioFormat format) = 0;
};

/// Longest text either engine accepts in one request (characters, UTF-8 code points).
inline constexpr std::size_t kMaxSynthesisChars = 5000;

/// Counts UTF-8 code points (continuation bytes are not counted).
std::size_t utf8_length(std::string_view text) noexcept;

/// Checks request.text against the shared rules: not blank, at most kMaxSynthesisChars.
/// Errors: validation_failed.
Result<void> validate_text(std::string_view text);

}  // namespace parley::speech::tts
