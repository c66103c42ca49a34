#include "translate/langid/language_detector.hpp"

// compact_lang_det.h uses FILE without including <cstdio>.
#include <cstdio>
// clang-format off
#include <cld2/public/compact_lang_det.h>
#include <cld2/public/encodings.h>
#include <cld2/internal/lang_script.h>
// clang-format on

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

namespace parley::translate {
namespace {

// CLD2 scans at most this much; chat messages are far shorter and a long text's language is
// clear well before.
constexpr std::size_t kMaxScanBytes = 64 * 1024;

bool is_ascii_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Withdrawn ISO 639-1 codes that CLD2 (and old browsers) still use.
std::string modern_code(std::string code) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 4> kLegacy{
      {{"iw", "he"}, {"jw", "jv"}, {"in", "id"}, {"ji", "yi"}}};
  for (const auto& [legacy, modern] : kLegacy) {
    if (code == legacy) return std::string(modern);
  }
  return code;
}

// CLD2's code → ISO 639-1 (primary subtag). CLD2's "unknown" codes ("un", "xxx", the
// "xx-Latn" script-only entries and the "zz*" placeholders) → "und".
std::string from_cld2(CLD2::Language language) {
  if (language == CLD2::UNKNOWN_LANGUAGE) return "und";
  const char* code = CLD2::LanguageCode(language);
  if (code == nullptr) return "und";
  const std::string_view text(code);
  if (text.empty() || text == "un" || text == "xxx" || text.starts_with("xx-") ||
      text.starts_with("zz")) {
    return "und";
  }
  auto normalized = normalize_language_tag(text);
  return normalized.empty() ? "und" : normalized;
}

bool is_blank(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; });
}

}  // namespace

std::string normalize_language_tag(std::string_view tag) {
  const auto end = tag.find_first_of("-_");
  const std::string_view primary = tag.substr(0, end);
  if (primary.size() < 2 || primary.size() > 3 ||
      !std::all_of(primary.begin(), primary.end(), is_ascii_alpha)) {
    return {};
  }
  std::string code;
  code.reserve(primary.size());
  for (const char c : primary) code.push_back(ascii_lower(c));
  return modern_code(std::move(code));
}

Detection LanguageDetector::detect(std::string_view text, std::string_view hint) const {
  const std::string hinted = normalize_language_tag(hint);
  const auto from_hint = [&hinted]() {
    Detection result;
    if (!hinted.empty()) {
      result.language = hinted;
      result.from_hint = true;
    }
    return result;
  };
  if (is_blank(text)) return from_hint();

  std::size_t scan = std::min(text.size(), kMaxScanBytes);
  // Cut on a character boundary, or the cut itself would read as invalid UTF-8.
  while (scan > 0 && scan < text.size() &&
         (static_cast<unsigned char>(text[scan]) & 0xC0) == 0x80) {
    --scan;
  }
  const auto length = static_cast<int>(scan);
  // No hints to CLD2: the hint is a fallback for text that says too little, not a thumb on the
  // scale for text that speaks for itself.
  const CLD2::CLDHints hints{nullptr, nullptr, CLD2::UNKNOWN_ENCODING, CLD2::UNKNOWN_LANGUAGE};
  std::array<CLD2::Language, 3> language3{};
  std::array<int, 3> percent3{};
  std::array<double, 3> score3{};
  int text_bytes = 0;
  bool reliable = false;
  int valid_prefix_bytes = 0;
  // Best effort: without it CLD2 answers UNKNOWN for most short sentences (and the plain
  // DetectLanguage answers "en" when unsure). The CheckUTF8 variant: chat text is untrusted, and
  // CLD2 reads past malformed sequences otherwise.
  const CLD2::Language top = CLD2::ExtDetectLanguageSummaryCheckUTF8(
      text.data(), length, /*is_plain_text=*/true, &hints, CLD2::kCLDFlagBestEffort,
      language3.data(), percent3.data(), score3.data(), /*resultchunkvector=*/nullptr, &text_bytes,
      &reliable, &valid_prefix_bytes);
  if (valid_prefix_bytes < length) return from_hint();  // invalid UTF-8: nothing to trust

  Detection detected;
  detected.language = from_cld2(top);
  detected.confidence = std::clamp(percent3[0], 0, 100);
  detected.letters = text_bytes;
  detected.reliable = reliable && text_bytes >= kMinDetectionBytes && detected.language != "und";
  if (detected.reliable) return detected;
  if (!hinted.empty()) return from_hint();
  return detected;
}

}  // namespace parley::translate
