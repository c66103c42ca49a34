#include "speech/speech_engines.hpp"

namespace parley::speech {

namespace {

template <class Engine>
Result<Engine*> choose(std::string_view what, std::string_view language, Engine* embedded,
                       Engine* cloud, EnginePolicy policy) {
  std::string considered;
  const auto consider = [&](Engine* engine) -> Engine* {
    if (engine == nullptr) return nullptr;
    if (engine->supports(language)) return engine;
    if (!considered.empty()) considered += ", ";
    considered += std::string(engine->name());
    return nullptr;
  };
  if (policy != EnginePolicy::cloud_only) {
    if (auto* engine = consider(embedded)) return engine;
  }
  if (policy != EnginePolicy::embedded_only) {
    if (auto* engine = consider(cloud)) return engine;
  }
  std::string message =
      "no " + std::string(what) + " engine supports the language '" + std::string(language) + "'";
  if (!considered.empty()) message += " (configured: " + considered + ")";
  return fail(Errc::unsupported, std::move(message));
}

}  // namespace

SpeechEngines::SpeechEngines(std::unique_ptr<stt::SpeechRecognizer> embedded_stt,
                             std::unique_ptr<stt::SpeechRecognizer> cloud_stt,
                             EnginePolicy stt_policy,
                             std::unique_ptr<tts::SpeechSynthesizer> embedded_tts,
                             std::unique_ptr<tts::SpeechSynthesizer> cloud_tts,
                             EnginePolicy tts_policy)
    : embedded_stt_(std::move(embedded_stt)),
      cloud_stt_(std::move(cloud_stt)),
      stt_policy_(stt_policy),
      embedded_tts_(std::move(embedded_tts)),
      cloud_tts_(std::move(cloud_tts)),
      tts_policy_(tts_policy) {}

SpeechEngines::~SpeechEngines() = default;

Result<stt::SpeechRecognizer*> SpeechEngines::recognizer_for(std::string_view language) const {
  return choose<stt::SpeechRecognizer>("speech-to-text", language, embedded_stt_.get(),
                                       cloud_stt_.get(), stt_policy_);
}

Result<void> SpeechEngines::prepare_recognition(std::size_t streams) const {
  if (embedded_stt_ == nullptr || stt_policy_ == EnginePolicy::cloud_only) return {};
  return embedded_stt_->prepare(streams);
}

Result<tts::SpeechSynthesizer*> SpeechEngines::synthesizer_for(std::string_view language) const {
  return choose<tts::SpeechSynthesizer>("text-to-speech", language, embedded_tts_.get(),
                                        cloud_tts_.get(), tts_policy_);
}

}  // namespace parley::speech
