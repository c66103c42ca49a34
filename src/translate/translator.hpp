#pragma once
// The translation engine interface. Engines know nothing of HTTP or Socket.IO; they block
// (a pipeline round trip, an HTTP request) and run on workers, never on network threads.
// An engine that cannot translate a pair says so (Errc::unsupported); it never returns the
// source text passed off as a translation.

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace parley::translate {

struct Translation {
  std::string text;
  std::string source;  ///< ISO 639-1 where one exists ("en", "es", "ca")
  std::string target;
  std::string engine;  ///< "apertium", "openai"
  /// Languages the text went through when no direct pair exists (e.g. {"es"} for fr→es→ca);
  /// empty for a direct translation. Shown to users: a pivot loses nuance.
  std::vector<std::string> via;
};

/// A room glossary's fixed translation of a term into the target language (issue 11).
struct GlossaryEntry {
  std::string term;         ///< as it occurs in the source text
  std::string translation;  ///< what it must become
};

class Translator {
 public:
  virtual ~Translator() = default;
  virtual std::string_view name() const noexcept = 0;
  /// Whether `source` → `target` can be translated (directly or through a pivot).
  virtual bool supports(std::string_view source, std::string_view target) const = 0;
  /// BLOCKING. Errors: unsupported (pair), validation_failed (empty or too long text),
  /// rate_limited / unavailable / timeout (engine or service), internal.
  virtual Result<Translation> translate(std::string_view text, std::string_view source,
                                        std::string_view target) = 0;
  /// BLOCKING. Like translate(), told that each glossary term must become its fixed
  /// translation: for engines that take instructions (a language model); the caller checks the
  /// result. Default: Errc::unsupported, and the caller protects and substitutes the terms
  /// itself (see translate/glossary/glossary_text.hpp).
  virtual Result<Translation> translate_with_terms(std::string_view text, std::string_view source,
                                                   std::string_view target,
                                                   std::span<const GlossaryEntry> terms) {
    (void)text;
    (void)source;
    (void)target;
    (void)terms;
    return fail(Errc::unsupported, "this engine takes no instructions");
  }
};

/// Longest text one translation request takes (bytes of UTF-8).
inline constexpr std::size_t kMaxTranslationBytes = 16 * 1024;

}  // namespace parley::translate
