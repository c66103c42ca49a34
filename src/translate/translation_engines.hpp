#pragma once
// Which engine translates which pair, and language detection. The embedded engine (Apertium)
// serves its installed pairs (and one-language pivots); the OpenAI-compatible engine, when its
// key is set, serves the rest or everything, by PARLEY_TRANSLATION_ENGINE. A pair nobody serves
// is Errc::unsupported, never the source text passed off as a translation.

#include <functional>
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
  Translator* cloud() const noexcept { return cloud_front_ ? cloud_front_.get() : cloud_.get(); }

  /// Puts a decorator (metrics) in front of each configured engine: translator_for() and
  /// cloud() return the decorators from then on. The engines outlive their decorators. Call
  /// once, at start-up, before any other use (not thread-safe).
  void decorate(const std::function<std::unique_ptr<Translator>(Translator& engine)>& decorator);

 private:
  std::unique_ptr<ApertiumTranslator> embedded_;
  std::unique_ptr<Translator> cloud_;
  // Declared after the engines: destroyed first.
  std::unique_ptr<Translator> embedded_front_;
  std::unique_ptr<Translator> cloud_front_;
  TranslationPolicy policy_;
  LanguageDetector detector_;
};

}  // namespace parley::translate
