#pragma once
// The room's record: every typed and spoken message of a time range, with its speaker, when it
// began and ended, and its stored translation into the reader's language. What a member reads
// the room in any language with, and exports as captions (transcript_formats.hpp).
//
// Timing: a spoken message runs from when its utterance began to when it ended (measured by its
// stream); a typed one from when it was sent, for as long as it takes to read (reading_time_ms).
//
// Blocking: read() BLOCKS on the database; call it on the worker pool. Thread-safe.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "chat/chatroom.hpp"
#include "chat/chatroom_service.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "translate/queue/message_translations.hpp"

namespace parley::transcript {

/// More messages than this in one range is refused (ask for a shorter range): an export is built
/// in memory.
inline constexpr std::size_t kMaxTranscriptEntries = 20'000;

struct TranscriptQuery {
  std::int64_t room_id = 0;
  std::int64_t viewer_id = 0;
  /// The reader's language ("es", "pt-BR"): each message comes with its stored translation into
  /// it. nullopt: the originals only.
  std::optional<std::string> language;
  /// Messages that began in [from_ms, to_ms) (unix ms); nullopt: from the first, up to now.
  std::optional<std::int64_t> from_ms;
  std::optional<std::int64_t> to_ms;
};

struct TranscriptEntry {
  chat::StoredMessage message;
  std::int64_t start_ms = 0;  ///< unix ms
  std::int64_t end_ms = 0;    ///< unix ms, after start_ms
  /// The message in the reader's language when it was written in another and a translation is
  /// stored; nullopt otherwise (same language, no reader language, or not translated).
  std::optional<translate::MessageTranslation> translation;
  /// The message was written in the reader's language: its text is what they read.
  bool in_reader_language = false;
};

struct Transcript {
  chat::Chatroom room;
  std::optional<std::string> language;  ///< the reader's language, normalised ("es")
  std::optional<std::int64_t> from_ms;  ///< as asked
  std::optional<std::int64_t> to_ms;
  /// Cue time zero: `from_ms` when asked, else the first entry's start (else 0).
  std::int64_t origin_ms = 0;
  std::vector<TranscriptEntry> entries;  ///< in the order they began
  /// Every language the range can be read in: its originals' and its stored translations'.
  std::vector<std::string> languages;
};

/// How long a typed message stays up: long enough to read its longest version.
std::int64_t reading_time_ms(const TranscriptEntry& entry);

class RoomTranscripts {
 public:
  /// All three must outlive this object.
  RoomTranscripts(chat::ChatroomService& rooms, translate::MessageTranslations& translations,
                  const core::Clock& clock)
      : rooms_(rooms), translations_(translations), clock_(clock) {}

  /// Errors: not_found (no such room, or the viewer is not a member: a private room's existence
  /// is not revealed); validation_failed (from not before to; a bad language tag; more than
  /// kMaxTranscriptEntries messages in the range); storage errors.
  Result<Transcript> read(const TranscriptQuery& query);

 private:
  chat::ChatroomService& rooms_;
  translate::MessageTranslations& translations_;
  const core::Clock& clock_;
};

}  // namespace parley::transcript
