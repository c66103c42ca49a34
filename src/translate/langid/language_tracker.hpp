#pragma once
// Which language a speaker is speaking now, from one detection per utterance (issue 11).
//
// A detection per utterance flip-flops: "ok", a name or a loan word reads as another language,
// and a bilingual speaker's short line may be guessed wrong. The tracker keeps the speaker's
// current language and switches only on evidence that is both confident and persistent:
//   - only reliable detections count (see Detection::reliable); the others keep the current
//     language;
//   - only the languages the speaker declared count (none declared: any language);
//   - a switch needs kSwitchEvidence points in a row for the same new language: an ordinary
//     confident utterance gives one, a long and clear one (kStrongLetters letters at
//     kStrongConfidence percent or more) gives two, since it carries its own persistence;
//     any utterance in the current language (or in an undeclared one) resets the count.
// A member's correction ("this was Spanish") is the strongest evidence: it switches at once.
//
// Not thread-safe: the owner serializes (one tracker per speaker and room).

#include <string>
#include <string_view>
#include <vector>

#include "translate/langid/language_detector.hpp"

namespace parley::translate {

inline constexpr int kSwitchEvidence = 2;
inline constexpr int kStrongLetters = 48;
inline constexpr int kStrongConfidence = 90;

class LanguageTracker {
 public:
  /// `spoken`: the speaker's declared languages (normalised primary subtags; empty: any).
  /// `initial`: where to start (normalised); the first declared language when it is not one of
  /// them.
  LanguageTracker(std::vector<std::string> spoken, std::string initial);

  /// One utterance's detection; returns the language to label it with (the current language,
  /// after switching when this detection completed the evidence).
  const std::string& observe(const Detection& detection);

  /// A person said the speaker's last utterance was in `language`: switch at once (when it is
  /// declared, or nothing is).
  void correct(std::string_view language);

  [[nodiscard]] const std::string& current() const noexcept { return current_; }
  [[nodiscard]] const std::vector<std::string>& spoken() const noexcept { return spoken_; }

 private:
  bool declared(std::string_view language) const;

  std::vector<std::string> spoken_;
  std::string current_;
  std::string candidate_;
  int evidence_ = 0;
};

}  // namespace parley::translate
