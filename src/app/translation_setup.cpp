#include "app/translation_setup.hpp"

#include "translate/apertium/apertium_translator.hpp"
#include "translate/openai/openai_translator.hpp"

namespace parley::app {

std::unique_ptr<translate::TranslationEngines> make_translation_engines(
    const core::Config& cfg, outbound::HttpClient& http) {
  translate::ApertiumOptions apertium;
  apertium.modes_dir = cfg.apertium_modes_dir;
  auto embedded = std::make_unique<translate::ApertiumTranslator>(apertium);
  std::unique_ptr<translate::Translator> cloud;
  if (!cfg.openai_api_key.empty()) {
    translate::OpenAiTranslatorOptions openai;
    openai.base_url = cfg.openai_base_url;
    openai.api_key = cfg.openai_api_key;
    openai.model = cfg.openai_translation_model;
    openai.requests_per_minute = cfg.openai_translation_rpm;
    openai.tokens_per_minute = cfg.openai_translation_tpm;
    cloud = std::make_unique<translate::OpenAiTranslator>(http, openai);
  }
  const auto policy = cfg.translation_engine == "auto" ? translate::TranslationPolicy::automatic
                      : cfg.translation_engine == "apertium"
                          ? translate::TranslationPolicy::embedded_only
                          : translate::TranslationPolicy::cloud_only;
  return std::make_unique<translate::TranslationEngines>(std::move(embedded), std::move(cloud),
                                                         policy);
}

translate::QueueOptions translation_queue_options(const core::Config& cfg) {
  translate::QueueOptions options;
  options.max_attempts = static_cast<int>(cfg.translation_max_attempts);
  options.backoff_base = cfg.translation_backoff;
  options.backoff_cap = std::max(cfg.translation_backoff, std::chrono::milliseconds(5 * 60 * 1000));
  return options;
}

}  // namespace parley::app
