#pragma once
// Translation over HTTP (the original's routes/translation.py):
//   GET  /api/languages         the engines, the embedded engine's installed pairs, detection
//   POST /api/detect-language   {text, hint?} → {language, confidence, reliable, from_hint}
//   POST /api/translate         {text, source?, target} → {text, source, target, engine, via}
// Translation runs on the worker pool; a pair no engine serves is 422 `unsupported`; past the
// caller's daily characters (or the cloud engine on a plan without it) is 402 `quota_exceeded`.

#include "api/account_routes.hpp"
#include "core/log.hpp"
#include "core/worker_pool.hpp"
#include "net/router.hpp"
#include "translate/messages/message_translator.hpp"
#include "translate/translation_engines.hpp"

namespace parley::api {

struct TranslationRoutesDeps {
  const AccountRoutesDeps& accounts;  ///< for authenticate()
  translate::TranslationEngines& engines;
  /// Translates through the cache and charges the caller's plan.
  translate::MessageTranslator& translator;
  core::WorkerPool& workers;
  core::Logger& log;
};

/// Registers the translation routes. `deps` must outlive the router.
void add_translation_routes(net::Router& router, const TranslationRoutesDeps& deps);

}  // namespace parley::api
