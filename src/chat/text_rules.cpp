#include "chat/text_rules.hpp"

#include <cstdint>

namespace parley::chat {

namespace {

// Decodes the sequence at text[i]; returns the code point and advances i, or nullopt-like -1 for
// an invalid sequence (Unicode 15, table 3-7: the exact well-formed byte ranges).
std::int32_t decode(std::string_view text, std::size_t& i) noexcept {
  const auto byte = [&text](std::size_t at) { return static_cast<unsigned char>(text[at]); };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  std::size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  std::int32_t cp = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    length = 2;
    cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    length = 3;
    cp = b0 & 0x0F;
    if (b0 == 0xE0) low = 0xA0;   // no overlong forms
    if (b0 == 0xED) high = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    length = 4;
    cp = b0 & 0x07;
    if (b0 == 0xF0) low = 0x90;   // no overlong forms
    if (b0 == 0xF4) high = 0x8F;  // nothing above U+10FFFF
  } else {
    return -1;
  }
  if (i + length > text.size()) return -1;
  for (std::size_t k = 1; k < length; ++k) {
    const unsigned char b = byte(i + k);
    const unsigned char lo = k == 1 ? low : 0x80;
    const unsigned char hi = k == 1 ? high : 0xBF;
    if (b < lo || b > hi) return -1;
    cp = (cp << 6) | (b & 0x3F);
  }
  i += length;
  return cp;
}

}  // namespace

bool is_valid_utf8(std::string_view text) noexcept {
  std::size_t i = 0;
  while (i < text.size()) {
    if (decode(text, i) < 0) return false;
  }
  return true;
}

bool has_control_characters(std::string_view text, std::string_view allowed) noexcept {
  std::size_t i = 0;
  while (i < text.size()) {
    const std::int32_t cp = decode(text, i);
    if (cp < 0) return true;  // not text at all: treat as unacceptable
    const bool c0 = cp < 0x20 && allowed.find(static_cast<char>(cp)) == std::string_view::npos;
    if (c0 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F)) return true;
  }
  return false;
}

std::size_t code_points(std::string_view text) noexcept {
  std::size_t n = 0;
  for (unsigned char c : text) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::string_view trim(std::string_view text) noexcept {
  constexpr std::string_view kSpace = " \t\r\n\f\v";
  const auto first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(kSpace);
  return text.substr(first, last - first + 1);
}

std::string escape_like(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\' || c == '%' || c == '_') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace parley::chat
