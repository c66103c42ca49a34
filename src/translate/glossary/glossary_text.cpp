#include "translate/glossary/glossary_text.hpp"

#include <algorithm>
#include <cctype>

namespace parley::translate {

namespace {

// Letters that continue a word in scripts written with spaces: Latin, Greek, Cyrillic,
// Armenian, Hebrew, Arabic and their extensions. Punctuation (curly quotes, guillemets, dashes,
// no-break space) and scripts written without spaces (CJK, Thai) do not.
bool word_code_point(char32_t c) {
  if (c < 0x80) return std::isalnum(static_cast<int>(c)) != 0;
  return (c >= 0x00C0 && c <= 0x024F && c != 0x00D7 && c != 0x00F7) ||
         (c >= 0x0370 && c <= 0x06FF) || (c >= 0x1E00 && c <= 0x1FFF);
}

// The code point of the UTF-8 sequence starting at `at` (a replacement for malformed input).
char32_t decode_at(std::string_view text, std::size_t at) {
  const auto lead = static_cast<unsigned char>(text[at]);
  if (lead < 0x80) return lead;
  const int length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
  if (length == 1 || at + static_cast<std::size_t>(length) > text.size()) return 0xFFFD;
  char32_t c = lead & (0x7F >> length);
  for (int i = 1; i < length; ++i) {
    c = (c << 6) | (static_cast<unsigned char>(text[at + static_cast<std::size_t>(i)]) & 0x3F);
  }
  return c;
}

// Whether the character ending just before `at` continues a word.
bool word_before(std::string_view text, std::size_t at) {
  if (at == 0) return false;
  std::size_t start = at - 1;
  while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
  return word_code_point(decode_at(text, start));
}

// Whether the character starting at `at` continues a word.
bool word_after(std::string_view text, std::size_t at) {
  return at < text.size() && word_code_point(decode_at(text, at));
}

bool word_byte(char c) { return word_code_point(static_cast<unsigned char>(c)); }

bool space_byte(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

char fold(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

// The end of a match of `key` (folded) at `at` in `text`, whole words only.
std::optional<std::size_t> match_at(std::string_view text, std::size_t at, std::string_view key) {
  // A match starts and ends at word edges (for a key that starts or ends with a letter). A key
  // byte >= 0x80 (a non-ASCII letter) counts as a letter here.
  const auto letter = [](char c) { return static_cast<unsigned char>(c) >= 0x80 || word_byte(c); };
  if (letter(key.front()) && word_before(text, at)) return std::nullopt;
  // Only at the start of a character.
  if ((static_cast<unsigned char>(text[at]) & 0xC0) == 0x80) return std::nullopt;
  std::size_t i = at;
  for (std::size_t k = 0; k < key.size(); ++k) {
    if (key[k] == ' ') {
      if (i >= text.size() || !space_byte(text[i])) return std::nullopt;
      while (i < text.size() && space_byte(text[i])) ++i;
      continue;
    }
    if (i >= text.size() || fold(text[i]) != key[k]) return std::nullopt;
    ++i;
  }
  if (letter(key.back()) && word_after(text, i)) return std::nullopt;
  return i;
}

struct Span {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::size_t entry = 0;
};

// Every occurrence of each key, longest key first where they overlap, in text order.
std::vector<Span> occurrences(std::string_view text, const std::vector<std::string>& keys) {
  std::vector<Span> found;
  for (std::size_t at = 0; at < text.size(); ++at) {
    std::optional<Span> best;
    for (std::size_t e = 0; e < keys.size(); ++e) {
      if (keys[e].empty()) continue;
      if (auto end = match_at(text, at, keys[e]); end && (!best || *end > best->end)) {
        best = Span{at, *end, e};
      }
    }
    if (best) {
      found.push_back(*best);
      at = best->end - 1;
    }
  }
  return found;
}

std::string primary(std::string_view tag) {
  std::string out(tag.substr(0, tag.find_first_of("-_")));
  for (auto& c : out) c = fold(c);
  return out;
}

std::string lowered(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = fold(c);
  return out;
}

}  // namespace

std::string glossary_key(std::string_view term) {
  std::string out;
  bool gap = false;
  for (char c : term) {
    if (space_byte(c)) {
      gap = !out.empty();
      continue;
    }
    if (gap) out.push_back(' ');
    gap = false;
    out.push_back(fold(c));
  }
  return out;
}

bool contains_term(std::string_view text, std::string_view term) {
  const std::string key = glossary_key(term);
  if (key.empty()) return false;
  for (std::size_t at = 0; at < text.size(); ++at) {
    if (match_at(text, at, key)) return true;
  }
  return false;
}

std::vector<GlossaryEntry> glossary_entries(std::span<const GlossaryTerm> terms,
                                            std::string_view text, std::string_view target) {
  const std::string language = primary(target);
  std::vector<GlossaryEntry> out;
  for (const auto& term : terms) {
    auto it = std::find_if(term.translations.begin(), term.translations.end(),
                           [&](const auto& t) { return primary(t.first) == language; });
    if (it == term.translations.end() || !contains_term(text, term.term)) continue;
    out.push_back(GlossaryEntry{term.term, it->second});
  }
  std::stable_sort(out.begin(), out.end(), [](const GlossaryEntry& a, const GlossaryEntry& b) {
    return glossary_key(a.term).size() > glossary_key(b.term).size();
  });
  return out;
}

ProtectedText protect_terms(std::string_view text, std::span<const GlossaryEntry> entries) {
  std::vector<std::string> keys;
  for (const auto& entry : entries) keys.push_back(glossary_key(entry.term));
  ProtectedText out;
  // One token per entry (its every occurrence): ZQ1Q, ZQ2Q... pass through Apertium unknown and
  // untouched, and language models keep them as names. A prefix the text itself never uses, so
  // that nothing the user wrote is taken for a token.
  std::string prefix = "ZQ";
  for (const char* candidate : {"ZQ", "QX", "XJ", "JQZ", "QZXJ"}) {
    prefix = candidate;
    if (lowered(text).find(lowered(prefix)) == std::string::npos) break;
  }
  std::vector<std::string> token_of(entries.size());
  std::size_t copied = 0;
  for (const auto& span : occurrences(text, keys)) {
    if (token_of[span.entry].empty()) {
      token_of[span.entry] = prefix + std::to_string(out.tokens.size() + 1) + "Q";
      out.tokens.emplace_back(token_of[span.entry], entries[span.entry].translation);
    }
    out.text.append(text.substr(copied, span.begin - copied));
    out.text += token_of[span.entry];
    copied = span.end;
  }
  out.text.append(text.substr(copied));
  return out;
}

Result<std::string> restore_terms(std::string_view translated,
                                  const ProtectedText& protected_text) {
  std::string out(translated);
  for (const auto& [token, translation] : protected_text.tokens) {
    std::size_t at = 0;
    bool seen = false;
    // Engines may change a token's case (sentence starts): match it ignoring ASCII case.
    const std::string lower_token = lowered(token);
    for (;;) {
      const std::string lower_out = lowered(out);
      at = lower_out.find(lower_token, at);
      if (at == std::string::npos) break;
      out.replace(at, token.size(), translation);
      at += translation.size();
      seen = true;
    }
    if (!seen) {
      return fail(Errc::internal, "the translation engine dropped a glossary term ('" +
                                      translation + "' could not be placed)");
    }
  }
  return out;
}

bool honours_terms(std::string_view translated, std::span<const GlossaryEntry> entries) {
  return std::all_of(entries.begin(), entries.end(), [&](const GlossaryEntry& entry) {
    return lowered(translated).find(lowered(entry.translation)) != std::string::npos;
  });
}

Result<Translation> translate_honouring(Translator& engine, std::string_view text,
                                        std::string_view source, std::string_view target,
                                        std::span<const GlossaryEntry> entries) {
  if (entries.empty()) return engine.translate(text, source, target);
  auto instructed = engine.translate_with_terms(text, source, target, entries);
  if (instructed && honours_terms(instructed->text, entries)) return instructed;
  if (!instructed && instructed.error().code != Errc::unsupported) return instructed.error();
  // Not told, or told and not followed: protect the terms and put them in ourselves.
  const auto protected_text = protect_terms(text, entries);
  auto translated = engine.translate(protected_text.text, source, target);
  if (!translated) return translated.error();
  auto restored = restore_terms(translated->text, protected_text);
  if (!restored) {
    // The engine lost a token. Engines answer the same text the same way, so a retry would
    // fail alike: the instructed translation, else a plain one, rather than none at all.
    if (instructed) return instructed;
    return engine.translate(text, source, target);
  }
  translated->text = std::move(*restored);
  return translated;
}

std::string apply_pronunciations(std::string_view text, std::span<const GlossaryTerm> terms) {
  std::vector<std::string> keys;
  std::vector<std::string> sounds;
  for (const auto& term : terms) {
    if (!term.pronunciation || term.pronunciation->empty()) continue;
    // A fixed translation spelled as the term (a name kept as is) matches too: said the same.
    keys.push_back(glossary_key(term.term));
    sounds.push_back(*term.pronunciation);
  }
  if (keys.empty()) return std::string(text);
  std::string out;
  std::size_t copied = 0;
  for (const auto& span : occurrences(text, keys)) {
    out.append(text.substr(copied, span.begin - copied));
    out += sounds[span.entry];
    copied = span.end;
  }
  out.append(text.substr(copied));
  return out;
}

}  // namespace parley::translate
