#pragma once
// Wrong-language correction (issue 11): any member may say "this message is in Spanish, not
// English". Parley then redoes what the wrong language spoiled:
//   - speech (a recording is kept with the message): recognized again in the corrected
//     language, so the text is what was said, not what an English model made of Spanish;
//   - every translation of the message is forgotten (stored and queued) and made afresh from the
//     corrected language and text;
//   - the message's history keeps the correction (chat::ChatroomService::correct_language);
//   - the room is told (CorrectionSink: the real-time layer sends `message_updated`).
// Socket-agnostic and HTTP-agnostic: the Socket.IO event and the REST route both call correct().
//
// Thread-safety: correct() may run on several workers at once; it BLOCKS (database, decoding,
// recognition).

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "chat/chatroom_service.hpp"
#include "core/error.hpp"
#include "core/quotas.hpp"
#include "speech/audio/decoder_process.hpp"
#include "speech/speech_engines.hpp"
#include "translate/messages/message_translator.hpp"

namespace parley::corrections {

/// Told after a correction is stored and the old translations are forgotten.
class CorrectionSink {
 public:
  virtual ~CorrectionSink() = default;
  /// Deliver the corrected message to its room and queue its translations. Called on the
  /// worker that made the correction; must not block for long nor throw.
  /// `actor_id`: who corrected it (they pay for the fresh translations).
  virtual void message_corrected(const chat::StoredMessage& message, std::int64_t actor_id,
                                 std::string_view request_id) = 0;
};

/// "Message `message_id` is in `language`", said by `actor_id`.
struct CorrectionRequest {
  std::int64_t message_id = 0;
  std::int64_t actor_id = 0;
  std::string language;  ///< a tag; stored as its primary subtag
  /// The room the caller addressed (a REST path): another room's message is not_found.
  std::optional<std::int64_t> room_id;
  std::string request_id;  ///< what caused it, for the translation jobs' log lines
};

struct LanguageCorrectionsDeps {
  chat::ChatroomService& chatrooms;
  translate::MessageTranslator& translator;
  /// Null: speech messages cannot be corrected (no engine to hear them again).
  speech::SpeechEngines* speech = nullptr;
  speech::audio::SandboxOptions decoder;
  std::filesystem::path audio_folder;  ///< uploads/chatroom_audio
  /// Who pays for hearing a recording again: the member who corrects (null: nobody).
  core::Quotas* quotas = nullptr;
};

class LanguageCorrections {
 public:
  explicit LanguageCorrections(LanguageCorrectionsDeps deps) : deps_(std::move(deps)) {}

  /// Set once at start-up (before the first correction); must outlive this object.
  void set_sink(CorrectionSink& sink) noexcept { sink_ = &sink; }

  /// BLOCKING. Corrects the message's language as the request says. Returns the corrected
  /// message.
  /// Errors: not_found (no such message, or the actor is not a member of its room);
  /// validation_failed (not a language tag, a system message); conflict (already in that
  /// language, too many corrections); unsupported (a recording in a language no speech engine
  /// here recognizes); quota_exceeded; the engine's and storage errors. Nothing changes on error.
  Result<chat::StoredMessage> correct(const CorrectionRequest& request);

 private:
  struct Heard {
    std::string text;
    std::int64_t seconds = 0;  ///< of speech charged to the actor
    bool charged = false;
  };
  /// The recording of `message` recognized in `language` (charged to the actor).
  Result<Heard> hear_again(const chat::StoredMessage& message, std::int64_t actor_id,
                           const std::string& language);

  LanguageCorrectionsDeps deps_;
  CorrectionSink* sink_ = nullptr;
};

}  // namespace parley::corrections
