#include "translate/langid/language_tracker.hpp"

#include <algorithm>
#include <utility>

namespace parley::translate {

LanguageTracker::LanguageTracker(std::vector<std::string> spoken, std::string initial)
    : spoken_(std::move(spoken)), current_(std::move(initial)) {
  if (!spoken_.empty() && !declared(current_)) current_ = spoken_.front();
}

bool LanguageTracker::declared(std::string_view language) const {
  return spoken_.empty() || std::find(spoken_.begin(), spoken_.end(), language) != spoken_.end();
}

const std::string& LanguageTracker::observe(const Detection& detection) {
  if (!detection.reliable || detection.from_hint || detection.language == "und") {
    return current_;  // says nothing either way: the streak stands
  }
  const std::string& language = detection.language;
  if (language == current_ || !declared(language)) {
    candidate_.clear();
    evidence_ = 0;
    return current_;
  }
  const bool strong =
      detection.letters >= kStrongLetters && detection.confidence >= kStrongConfidence;
  if (language != candidate_) {
    candidate_ = language;
    evidence_ = 0;
  }
  evidence_ += strong ? 2 : 1;
  if (evidence_ >= kSwitchEvidence) {
    current_ = std::move(candidate_);
    candidate_.clear();
    evidence_ = 0;
  }
  return current_;
}

void LanguageTracker::correct(std::string_view language) {
  if (language.empty() || !declared(language)) return;
  current_ = std::string(language);
  candidate_.clear();
  evidence_ = 0;
}

}  // namespace parley::translate
