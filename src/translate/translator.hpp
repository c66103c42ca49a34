#pragma once
// The translation engine interface. Engines know nothing of HTTP or Socket.IO; they block
// (a pipeline round trip, an HTTP request) and run on workers, never on network threads.
// An engine that cannot translate a pair says so (Errc::unsupported); it never returns the
// source text passed off as a translation.

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
};

/// Longest text one translation request takes (bytes of UTF-8).
inline constexpr std::size_t kMaxTranslationBytes = 16 * 1024;

}  // namespace parley::translate
