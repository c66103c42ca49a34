#include "events/speaker_languages.hpp"

#include <cstdint>

#include "translate/langid/language_detector.hpp"

namespace parley::events {

std::vector<std::string> SpeakerLanguages::spoken(std::int64_t user_id) {
  std::uint64_t forgets = 0;
  {
    std::lock_guard lock(mutex_);
    if (auto it = spoken_.find(user_id); it != spoken_.end()) return it->second;
    forgets = forgets_;
  }
  auto stored = chatrooms_.spoken_languages(user_id);
  if (!stored) return {};  // not remembered: read again next time
  std::lock_guard lock(mutex_);
  if (forgets != forgets_) return *stored;  // a change raced this read: do not keep it
  if (spoken_.size() >= kMaxSpeakers) spoken_.clear();
  spoken_[user_id] = *stored;
  return *stored;
}

translate::LanguageTracker& SpeakerLanguages::tracker(std::int64_t user_id, std::int64_t room_id,
                                                      std::vector<std::string> spoken,
                                                      const std::string& initial) {
  auto it = trackers_.find({user_id, room_id});
  if (it == trackers_.end()) {
    if (trackers_.size() >= kMaxSpeakers) trackers_.clear();
    it = trackers_
             .emplace(std::pair{user_id, room_id},
                      translate::LanguageTracker(std::move(spoken),
                                                 translate::normalize_language_tag(initial)))
             .first;
  }
  return it->second;
}

std::string SpeakerLanguages::label(std::int64_t user_id, std::int64_t room_id,
                                    const std::string& initial,
                                    const translate::Detection& detection) {
  auto declared = spoken(user_id);
  std::lock_guard lock(mutex_);
  return tracker(user_id, room_id, std::move(declared), initial).observe(detection);
}

std::string SpeakerLanguages::current(std::int64_t user_id, std::int64_t room_id,
                                      const std::string& initial) {
  auto declared = spoken(user_id);
  std::lock_guard lock(mutex_);
  return tracker(user_id, room_id, std::move(declared), initial).current();
}

void SpeakerLanguages::corrected(std::int64_t user_id, std::int64_t room_id,
                                 const std::string& language) {
  auto declared = spoken(user_id);
  if (declared.empty()) return;  // not tracked: each message is detected on its own
  std::lock_guard lock(mutex_);
  tracker(user_id, room_id, std::move(declared), language).correct(language);
}

void SpeakerLanguages::forget(std::int64_t user_id) {
  std::lock_guard lock(mutex_);
  ++forgets_;
  spoken_.erase(user_id);
  for (auto it = trackers_.lower_bound({user_id, INT64_MIN});
       it != trackers_.end() && it->first.first == user_id;) {
    it = trackers_.erase(it);
  }
}

}  // namespace parley::events
