#include "translate/translation_engines.hpp"

#include "translate/apertium/apertium_translator.hpp"

namespace parley::translate {

TranslationEngines::TranslationEngines(std::unique_ptr<ApertiumTranslator> embedded,
                                       std::unique_ptr<Translator> cloud, TranslationPolicy policy)
    : embedded_(std::move(embedded)), cloud_(std::move(cloud)), policy_(policy) {}

TranslationEngines::~TranslationEngines() = default;

Result<Translator*> TranslationEngines::translator_for(std::string_view source,
                                                       std::string_view target) const {
  std::string considered;
  const auto consider = [&](Translator* engine) -> Translator* {
    if (engine == nullptr) return nullptr;
    if (engine->supports(source, target)) return engine;
    if (!considered.empty()) considered += ", ";
    considered += std::string(engine->name());
    return nullptr;
  };
  if (policy_ != TranslationPolicy::cloud_only) {
    Translator* embedded = embedded_front_ ? embedded_front_.get() : embedded_.get();
    if (auto* engine = consider(embedded)) return engine;
  }
  if (policy_ != TranslationPolicy::embedded_only) {
    if (auto* engine = consider(cloud())) return engine;
  }
  std::string message = "no translation engine translates '" + std::string(source) + "' into '" +
                        std::string(target) + "'";
  if (!considered.empty()) message += " (configured: " + considered + ")";
  return fail(Errc::unsupported, std::move(message));
}

void TranslationEngines::decorate(
    const std::function<std::unique_ptr<Translator>(Translator& engine)>& decorator) {
  if (embedded_) embedded_front_ = decorator(*embedded_);
  if (cloud_) cloud_front_ = decorator(*cloud_);
}

std::vector<std::pair<std::string, std::string>> TranslationEngines::embedded_pairs() const {
  if (embedded_ == nullptr) return {};
  return embedded_->pairs();
}

}  // namespace parley::translate
