#include "speech/stt/recognizer.hpp"

namespace parley::speech::stt {

std::string primary_language(std::string_view tag) {
  const auto end = tag.find_first_of("-_");
  const std::string_view primary = tag.substr(0, end);
  if (primary.size() < 2 || primary.size() > 8) return {};
  std::string out;
  out.reserve(primary.size());
  for (const char c : primary) {
    if (c >= 'A' && c <= 'Z') {
      out.push_back(static_cast<char>(c - 'A' + 'a'));
    } else if (c >= 'a' && c <= 'z') {
      out.push_back(c);
    } else {
      return {};
    }
  }
  return out;
}

std::string displayable_language(std::string_view tag) {
  std::string out(tag.substr(0, 35));
  for (char& c : out) {
    if (c < 0x20 || c > 0x7E) c = '?';
  }
  return out;
}

}  // namespace parley::speech::stt
