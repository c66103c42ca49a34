#pragma once
// Language identification of chat text (CLD2, offline, ~100 us per sentence).
//
// The rule for short or ambiguous text: CLD2's answer is taken when it is reliable and rests on
// at least kMinDetectionBytes bytes of letters; otherwise the sender's declared language (the
// `hint`) wins when one is given. Without a hint the best-effort guess is returned with
// reliable=false ("und" when CLD2 has none). A chat line such as "ok" or "si" says nothing about
// its language; the sender's setting says more.

#include <string>
#include <string_view>

namespace parley::translate {

/// Fewest bytes of letters (CLD2's text_bytes, markup and digits excluded) for a detection to
/// override the hint.
inline constexpr int kMinDetectionBytes = 12;

struct Detection {
  /// ISO 639-1 where one exists ("en", "es", "ca"; "zh" for both Chinese scripts); CLD2's own
  /// code for languages without one ("haw", "ceb"); "und" when unknown.
  std::string language = "und";
  /// Percent (0-100) of the text in that language (CLD2 percent3[0]); 0 when from the hint.
  int confidence = 0;
  /// CLD2 judged the answer reliable and the text long enough (see kMinDetectionBytes).
  bool reliable = false;
  /// The language is the caller's hint, not a detection.
  bool from_hint = false;
  /// Bytes of letters CLD2 based its answer on (0 when from the hint).
  int letters = 0;
};

/// Normalises a language tag to its lower-case primary subtag ("es-ES" → "es", "EN" → "en",
/// legacy "iw" → "he"); "" when the tag is not 2-3 ASCII letters before an optional subtag.
std::string normalize_language_tag(std::string_view tag);

class LanguageDetector {
 public:
  /// Thread-safe: CLD2 keeps no mutable state (its tables are constant; every call works on its
  /// own stack), so any number of threads may call detect at once. BLOCKING but ~100 us; text
  /// beyond 64 KiB is not looked at. Never fails: invalid UTF-8, empty or whitespace-only text
  /// gives the hint (normalised) or "und".
  Detection detect(std::string_view text, std::string_view hint = {}) const;
};

}  // namespace parley::translate
