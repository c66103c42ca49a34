#pragma once
// A user's voice reference for speaking their messages in (something like) their own voice:
// either a provider clone (ElevenLabs holds the voice) or an approximation by the embedded
// engine (pitch, speaking rate, variant). Kept only with consent; one per user.

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "speech/tts/synthesizer.hpp"
#include "store/database.hpp"

namespace parley::speech {

enum class VoiceMode { clone, approximate };

struct StoredVoice {
  std::int64_t user_id = 0;
  std::string reference_file;  ///< server-made name under uploads/voice_clone_reference/
  VoiceMode mode = VoiceMode::approximate;
  std::string provider;                          ///< "elevenlabs" or "espeak-ng"
  std::optional<std::string> provider_voice_id;  ///< clone mode: the provider's voice id
  tts::VoiceProfile profile;
  std::int64_t consented_at = 0;  ///< unix ms
  std::int64_t created_at = 0;
};

/// `{"mode":"clone"|"approximate","provider","voice_id"?,"profile":{pitch_hz,
/// speaking_rate_wpm,gender,espeak_variant},"consented_at","created_at"}` (times ISO 8601).
boost::json::object to_json(const StoredVoice& voice);

/// BLOCKING (database): call from the worker pool. Thread-safe.
class VoiceProfileStore {
 public:
  VoiceProfileStore(store::Database& database, const core::Clock& clock)
      : database_(database), clock_(clock) {}

  Result<std::optional<StoredVoice>> find(std::int64_t user_id);
  /// Stores `voice` (created_at is set here) and returns the one it replaced, whose reference
  /// file and provider voice the caller removes.
  Result<std::optional<StoredVoice>> put(StoredVoice voice);
  /// Deletes the user's voice and returns it (nullopt when there was none).
  Result<std::optional<StoredVoice>> remove(std::int64_t user_id);

 private:
  store::Database& database_;
  const core::Clock& clock_;
};

}  // namespace parley::speech
