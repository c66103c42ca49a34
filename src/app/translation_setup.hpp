#pragma once
// The translation engines and queue settings as the configuration describes them, shared by the
// server and the batch-translate command so that both translate with the same engines, limits
// and retries.

#include <memory>

#include "core/config.hpp"
#include "outbound/http_client.hpp"
#include "translate/queue/translation_queue.hpp"
#include "translate/translation_engines.hpp"

namespace parley::app {

/// Apertium from PARLEY_APERTIUM_MODES_DIR, the OpenAI-compatible engine when OPENAI_API_KEY is
/// set (OPENAI_BASE_URL, OPENAI_TRANSLATION_MODEL, OPENAI_TRANSLATION_RPM/TPM), chosen by
/// PARLEY_TRANSLATION_ENGINE. `http` must outlive the engines.
std::unique_ptr<translate::TranslationEngines> make_translation_engines(const core::Config& config,
                                                                        outbound::HttpClient& http);

/// PARLEY_TRANSLATION_MAX_ATTEMPTS and PARLEY_TRANSLATION_BACKOFF_MS.
translate::QueueOptions translation_queue_options(const core::Config& config);

}  // namespace parley::app
