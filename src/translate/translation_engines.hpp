#pragma once
// Which engine translates which pair, and language detection. The embedded engine (Apertium)
// serves its installed pairs (and one-language pivots); the OpenAI-compatible engine, when its
// key is set, serves the rest or everything, by PARLEY_TRANSLATION_ENGINE. A pair nobody serves
// is Errc::unsupported, never the source text passed off as a translation.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "translate/langid/language_detector.hpp"
#include "translate/translator.hpp"

namespace parley::translate {

class ApertiumTranslator;

enum class TranslationPolicy { automatic, embedded_only, cloud_only };

class TranslationEngines {
 public:
  /// Either engine may be null (not configured). The object owns them.
  TranslationEngines(std::unique_ptr<ApertiumTranslator> embedded,
                     std::unique_ptr<Translator> cloud, TranslationPolicy policy);
  ~TranslationEngines();
  TranslationEngines(const TranslationEngines&) = delete;
  TranslationEngines& operator=(const TranslationEngines&) = delete;

  /// Errors: unsupported, naming the pair and the engines considered.
  Result<Translator*> translator_for(std::string_view source, std::string_view target) const;
  const LanguageDetector& detector() const noexcept { return detector_; }
  /// The embedded engine's installed direct pairs (ISO codes), for GET /api/languages.
  std::vector<std::pair<std::string, std::string>> embedded_pairs() const;
  Translator* cloud() const noexcept { return cloud_.get(); }

 private:
  std::unique_ptr<ApertiumTranslator> embedded_;
  std::unique_ptr<Translator> cloud_;
  TranslationPolicy policy_;
  LanguageDetector detector_;
};

}  // namespace parley::translate
