#include "speech/tts/synthesizer.hpp"

#include <algorithm>

namespace parley::speech::tts {

std::size_t utf8_length(std::string_view text) noexcept {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  }));
}

Result<void> validate_text(std::string_view text) {
  const bool blank = std::all_of(text.begin(), text.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
  });
  if (blank) return fail(Errc::validation_failed, "text to speak is empty");
  if (utf8_length(text) > kMaxSynthesisChars) {
    return fail(Errc::validation_failed, "text to speak is longer than " +
                                             std::to_string(kMaxSynthesisChars) + " characters");
  }
  return {};
}

}  // namespace parley::speech::tts
