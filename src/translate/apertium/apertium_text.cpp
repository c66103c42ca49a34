#include "translate/apertium/apertium_text.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace parley::translate::apertium {
namespace {

constexpr std::string_view kEscaped = "\\$@/<>{}[]*#+|";
// '^' travels as a superblank holding U+E05E (private use): lrx-proc (eng-spa, eng-cat,
// spa-ita, cat-spa) swallows the request's NUL when an escaped '^', even inside a superblank,
// is the last thing before the end, and the pipeline never answers.
constexpr std::string_view kCaretBlank = "[\xee\x81\x9e]";
constexpr std::string_view kCaretInside = "\xee\x81\x9e";

bool is_lower_alpha(char c) { return c >= 'a' && c <= 'z'; }

// Appends the content of a superblank (between its brackets), unescaped.
void append_unescaped_literal(std::string& out, std::string_view content) {
  for (std::size_t i = 0; i < content.size(); ++i) {
    if (content[i] == '\\' && i + 1 < content.size()) ++i;
    out.push_back(content[i]);
  }
}

}  // namespace

bool is_valid_utf8(std::string_view text) noexcept {
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t extra = 0;
    char32_t code = 0;
    char32_t min = 0;
    if ((c & 0xE0) == 0xC0) {
      extra = 1;
      code = c & 0x1F;
      min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      code = c & 0x0F;
      min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      code = c & 0x07;
      min = 0x10000;
    } else {
      return false;
    }
    if (n - i <= extra) return false;  // truncated sequence
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3F);
    }
    if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

std::string escape_for_apertium(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8 + 8);
  for (const char c : text) {
    if (c == '\0') continue;
    if (c == '^') {
      out += kCaretBlank;
      continue;
    }
    if (c == '~') {
      out += "[\\~]";
      continue;
    }
    if (kEscaped.find(c) != std::string_view::npos) out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

std::string unescape_apertium_output(std::string_view output) {
  std::string out;
  out.reserve(output.size());
  std::size_t i = 0;
  while (i < output.size()) {
    const char c = output[i];
    if (c == '\\' && i + 1 < output.size()) {
      out.push_back(output[i + 1]);
      i += 2;
      continue;
    }
    if (c == '[') {
      // A superblank runs to the next unescaped ']'.
      std::size_t end = i + 1;
      while (end < output.size() && output[end] != ']') {
        end += (output[end] == '\\' && end + 1 < output.size()) ? 2 : 1;
      }
      if (end < output.size()) {
        const std::string_view content = output.substr(i + 1, end - i - 1);
        if (content == kCaretInside) {
          out.push_back('^');
        } else {
          append_unescaped_literal(out, content);
        }
        i = end + 1;
        continue;
      }
    }
    if (c == '@') {  // unknown-word mark (every '@' of the input was escaped)
      ++i;
      continue;
    }
    out.push_back(c);
    ++i;
  }
  return out;
}

std::string iso_from_apertium_code(std::string_view code) {
  if (code.size() < 2 || code.size() > 3 ||
      !std::all_of(code.begin(), code.end(), is_lower_alpha)) {
    return {};
  }
  if (code.size() == 2) return std::string(code);
  // ISO 639-2/3 → 639-1 for the languages Apertium packages; others stay three letters.
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 46> kIso1{{
      {"afr", "af"}, {"arg", "an"}, {"ara", "ar"}, {"bel", "be"}, {"bre", "br"}, {"bul", "bg"},
      {"cat", "ca"}, {"ces", "cs"}, {"cos", "co"}, {"cym", "cy"}, {"dan", "da"}, {"deu", "de"},
      {"ell", "el"}, {"eng", "en"}, {"epo", "eo"}, {"eus", "eu"}, {"fao", "fo"}, {"fin", "fi"},
      {"fra", "fr"}, {"gle", "ga"}, {"glg", "gl"}, {"heb", "he"}, {"hin", "hi"}, {"isl", "is"},
      {"ita", "it"}, {"kaz", "kk"}, {"mkd", "mk"}, {"mlt", "mt"}, {"nld", "nl"}, {"nno", "nn"},
      {"nob", "nb"}, {"oci", "oc"}, {"pol", "pl"}, {"por", "pt"}, {"ron", "ro"}, {"rus", "ru"},
      {"sme", "se"}, {"slv", "sl"}, {"spa", "es"}, {"srd", "sc"}, {"swe", "sv"}, {"tat", "tt"},
      {"tur", "tr"}, {"ukr", "uk"}, {"urd", "ur"}, {"zho", "zh"},
  }};
  for (const auto& [three, two] : kIso1) {
    if (code == three) return std::string(two);
  }
  return std::string(code);
}

}  // namespace parley::translate::apertium
