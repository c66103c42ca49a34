#pragma once
// A room glossary applied to text (issue 11). Terms match whole words, ignoring ASCII case
// ("Release notes" matches "release notes," but not "prereleases"); longer terms win where two
// overlap.
//
// Honouring a glossary with any engine (translate_honouring):
//   1. an engine that takes instructions (Translator::translate_with_terms) is told the fixed
//      translations, and its output is checked to contain each of them;
//   2. otherwise, or when the check fails, each term is protected: replaced by a token no engine
//      translates, the text translated, and each token substituted by the fixed translation. A
//      token the engine lost is an error (never a translation missing a term).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "translate/translator.hpp"

namespace parley::translate {

/// One term of a room glossary as stored: fixed translations by language, optional respelling.
struct GlossaryTerm {
  std::int64_t id = 0;
  std::string term;
  std::optional<std::string> pronunciation;
  std::vector<std::pair<std::string, std::string>> translations;  ///< (language, text), sorted
};

/// Where the translator finds a room's glossary (implemented by glossary::GlossaryStore).
class GlossarySource {
 public:
  virtual ~GlossarySource() = default;
  /// BLOCKING. The room's terms now.
  virtual Result<std::vector<GlossaryTerm>> terms(std::int64_t room_id) = 0;
  /// Non-blocking: whether a term this process knows of the room occurs in `text` (a change
  /// made on another process is known after this process next reads the room's glossary).
  virtual bool may_apply(std::int64_t room_id, std::string_view text) const = 0;
};

/// The term as matching folds it (ASCII lower case, inner whitespace runs as one space).
std::string glossary_key(std::string_view term);

/// The terms that occur in `text` and have a fixed translation into `target` (primary subtag),
/// each once, longest first.
std::vector<GlossaryEntry> glossary_entries(std::span<const GlossaryTerm> terms,
                                            std::string_view text, std::string_view target);

/// Whether `text` contains `term` as whole words.
bool contains_term(std::string_view text, std::string_view term);

struct ProtectedText {
  std::string text;
  std::vector<std::pair<std::string, std::string>> tokens;  ///< (token, fixed translation)
};
/// Replaces every occurrence of each entry's term by a token ("ZQ1Q", "ZQ2Q", ...).
ProtectedText protect_terms(std::string_view text, std::span<const GlossaryEntry> entries);
/// Puts each fixed translation where its token came back. Errors: internal when a token is
/// missing from `translated` (the engine dropped or changed it).
Result<std::string> restore_terms(std::string_view translated, const ProtectedText& protected_text);

/// Whether `translated` contains every entry's fixed translation (ASCII case ignored).
bool honours_terms(std::string_view translated, std::span<const GlossaryEntry> entries);

/// BLOCKING. Translates `text` with `engine` so that every entry's term becomes its fixed
/// translation (see the file comment). Without entries: a plain translate().
Result<Translation> translate_honouring(Translator& engine, std::string_view text,
                                        std::string_view source, std::string_view target,
                                        std::span<const GlossaryEntry> entries);

/// `text` with every glossary term that has a pronunciation replaced by that respelling, for
/// speech synthesis (a fixed translation spelled as the term, a name kept as is, too).
std::string apply_pronunciations(std::string_view text, std::span<const GlossaryTerm> terms);

}  // namespace parley::translate
