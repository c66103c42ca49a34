#pragma once
// What each speaker speaks now, per room (issue 11): the languages they declared
// (auth::User::spoken_languages, cached) and one LanguageTracker per speaker and room, shared by
// typed messages (TranslationEvents) and speech (SpeechEvents), so that a switch seen in one is
// known to the other, and a member's correction moves both.
//
// Memory is bounded: past kMaxSpeakers entries a table starts over (a tracker forgets its
// streak, the cache reads the declaration again). Thread-safe.

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "chat/chatroom_service.hpp"
#include "translate/langid/language_tracker.hpp"

namespace parley::events {

class SpeakerLanguages {
 public:
  static constexpr std::size_t kMaxSpeakers = 20'000;

  /// `chatrooms` must outlive this object.
  explicit SpeakerLanguages(chat::ChatroomService& chatrooms) : chatrooms_(chatrooms) {}

  /// The user's declared languages (empty: none). BLOCKING on a cache miss (database).
  std::vector<std::string> spoken(std::int64_t user_id);

  /// One utterance's (or line's) detection: the language to label it with. `initial`: where
  /// the speaker's tracker in this room starts when it is new (their listening language).
  /// BLOCKING on a cache miss. Call only for users who declared languages.
  std::string label(std::int64_t user_id, std::int64_t room_id, const std::string& initial,
                    const translate::Detection& detection);

  /// The speaker's current language in the room (their tracker's, else `initial` normalised to
  /// a declared language). BLOCKING on a cache miss.
  std::string current(std::int64_t user_id, std::int64_t room_id, const std::string& initial);

  /// A member corrected one of the speaker's messages in the room to `language`.
  void corrected(std::int64_t user_id, std::int64_t room_id, const std::string& language);

  /// The user's declaration changed: read it again, start their trackers over.
  void forget(std::int64_t user_id);

 private:
  translate::LanguageTracker& tracker(std::int64_t user_id, std::int64_t room_id,
                                      std::vector<std::string> spoken, const std::string& initial);

  chat::ChatroomService& chatrooms_;
  std::mutex mutex_;
  std::uint64_t forgets_ = 0;  ///< a read that raced a forget() is not cached
  std::map<std::int64_t, std::vector<std::string>> spoken_;
  std::map<std::pair<std::int64_t, std::int64_t>, translate::LanguageTracker> trackers_;
};

}  // namespace parley::events
