#include "corrections/language_corrections.hpp"

#include <fstream>
#include <iterator>

#include "speech/recording.hpp"
#include "translate/langid/language_detector.hpp"
#include "translate/queue/translation_queue.hpp"

namespace parley::corrections {

Result<chat::StoredMessage> LanguageCorrections::correct(const CorrectionRequest& request) {
  const std::string corrected = translate::normalize_language_tag(request.language);
  if (corrected.empty() || request.language.size() > 35 || corrected == "und") {
    return fail(Errc::validation_failed, "language must be a language tag such as en or pt-BR");
  }
  const auto message_id = request.message_id;
  const auto actor_id = request.actor_id;
  // The cheap checks first: nothing is decoded or recognized for a correction that would be
  // refused anyway.
  auto message = deps_.chatrooms.check_correction(message_id, actor_id, corrected);
  if (!message) return message.error();
  if (request.room_id && *request.room_id != message->room_id) {
    return fail(Errc::not_found, "no such message");
  }
  if (message->language && translate::normalize_language_tag(*message->language) == corrected) {
    return fail(Errc::conflict, "the message is already in " + corrected);
  }
  std::optional<Heard> heard;
  if (message->kind != chat::MessageKind::text && message->audio_path) {
    auto again = hear_again(*message, actor_id, corrected);
    if (!again) return again.error();
    heard = std::move(*again);
  }
  // The old translations were made from the wrong language: they go in the correction's own
  // transaction (a worker finishing one of them now finds its job gone, and a job queued from
  // the old language is refused), so none is ever shown again.
  auto updated = deps_.chatrooms.correct_language(
      message_id, actor_id, corrected,
      heard ? std::optional<std::string>(heard->text) : std::nullopt,
      [message_id](store::Connection& connection) -> Result<void> {
        auto forgotten = translate::TranslationQueue::forget_message(connection, message_id);
        if (!forgotten) return forgotten.error();
        return {};
      });
  if (!updated) {
    if (heard && heard->charged && deps_.quotas != nullptr) {
      deps_.quotas->refund(actor_id, core::Metered::speech_seconds, heard->seconds);
    }
    return updated.error();
  }
  if (sink_ != nullptr) sink_->message_corrected(*updated, actor_id, request.request_id);
  return updated;
}

Result<LanguageCorrections::Heard> LanguageCorrections::hear_again(
    const chat::StoredMessage& message, std::int64_t actor_id, const std::string& language) {
  if (deps_.speech == nullptr) {
    return fail(Errc::unsupported, "speech recognition is not available on this server");
  }
  auto engine = deps_.speech->recognizer_for(language);
  if (!engine) {
    return fail(Errc::unsupported, "the recording cannot be heard again in " + language + ": " +
                                       engine.error().message);
  }
  const std::string engine_name((*engine)->name());
  if (deps_.quotas != nullptr && engine_name != "pocketsphinx") {
    if (auto allowed = deps_.quotas->require(actor_id, core::Entitlement::cloud_engines);
        !allowed) {
      return allowed.error();
    }
  }
  std::ifstream in(deps_.audio_folder / *message.audio_path, std::ios::binary);
  if (!in) return fail(Errc::not_found, "the message's recording is gone");
  const std::string bytes(std::istreambuf_iterator<char>(in), {});
  auto pcm = speech::audio::decode_sandboxed(deps_.decoder, bytes);
  if (!pcm) return pcm.error();
  const auto seconds = static_cast<std::int64_t>(
      (pcm->samples.size() + static_cast<std::size_t>(pcm->sample_rate) - 1) /
      static_cast<std::size_t>(pcm->sample_rate > 0 ? pcm->sample_rate : 1));
  if (deps_.quotas != nullptr) {
    if (auto counted = deps_.quotas->consume(actor_id, core::Metered::speech_seconds, seconds);
        !counted) {
      return counted.error();
    }
  }
  const bool charged = deps_.quotas != nullptr;
  auto transcript = speech::transcribe_recording(**engine, *pcm, language);
  if (!transcript || transcript->text.empty()) {
    if (deps_.quotas != nullptr) {
      deps_.quotas->refund(actor_id, core::Metered::speech_seconds, seconds);
    }
    if (!transcript) return transcript.error();
    return fail(Errc::unsupported, "nothing could be recognized in " + language +
                                       " in this recording (engine " + engine_name + ")");
  }
  return Heard{std::move(transcript->text), seconds, charged};
}

}  // namespace parley::corrections
