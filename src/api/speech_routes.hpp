#pragma once
// Speech over HTTP: audio messages (upload, transcribe, post; members-only playback),
// text-to-speech, and the user's voice reference for cloned or approximated voices.
//
//   POST   /api/upload-audio      multipart: audio|file, room|chatroom_id, language?
//   GET    /api/audio/{file}      a stored recording, for members of its room only
//   POST   /api/tts               {text, language?, voice?, format?}; Accept picks ogg/mp3/wav
//   POST   /api/voice-clone       multipart: audio|file, consent=true, name?
//   GET    /api/voice-clone       the current voice reference (404 when none)
//   DELETE /api/voice-clone       removes it: the file, the provider's voice, the row
//
// Uploaded audio is decoded in the sandboxed decoder process (SECURITY F44) and kept only in
// the re-encoded form (16 kHz WAV) under a server-made name (F45).

#include <cstddef>
#include <filesystem>
#include <string>

#include "api/account_routes.hpp"
#include "chat/chatroom_service.hpp"
#include "core/log.hpp"
#include "core/quotas.hpp"
#include "core/worker_pool.hpp"
#include "net/router.hpp"
#include "speech/audio/decoder_process.hpp"
#include "speech/speech_engines.hpp"
#include "speech/tts/elevenlabs_client.hpp"
#include "speech/voice_profiles.hpp"

namespace parley::api {

struct SpeechRoutesDeps {
  const AccountRoutesDeps& accounts;  ///< for authenticate()
  chat::ChatroomService& chatrooms;
  speech::SpeechEngines& engines;
  speech::VoiceProfileStore& voices;
  speech::tts::ElevenLabsClient* elevenlabs;  ///< null when ELEVENLABS_API_KEY is unset
  core::WorkerPool& workers;
  core::Logger& log;
  std::string public_base_url;
  speech::audio::SandboxOptions decoder;
  std::filesystem::path audio_folder;            ///< UPLOAD_DIR/chatroom_audio
  std::filesystem::path voice_reference_folder;  ///< UPLOAD_DIR/voice_clone_reference
  std::size_t max_upload_bytes = 25 * 1024 * 1024;
  /// The caller's plan: seconds of recognition per day, cloud engines, provider voice clones.
  core::Quotas* quotas = nullptr;
};

/// Registers the speech routes. `deps` must outlive the router.
void add_speech_routes(net::Router& router, const SpeechRoutesDeps& deps);

/// For AccountRoutesDeps::prepare_account_removal: reads the user's voice reference (BLOCKING)
/// and returns what removes its recording and provider voice once the account is gone.
std::function<void()> prepare_voice_removal(const SpeechRoutesDeps& deps, std::int64_t user_id);

}  // namespace parley::api
