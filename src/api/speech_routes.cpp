#include "api/speech_routes.hpp"

#include <charconv>
#include <fstream>
#include <iterator>

#include "api/replies.hpp"
#include "core/random.hpp"
#include "core/stored_files.hpp"
#include "net/json_body.hpp"
#include "net/multipart.hpp"
#include "speech/audio/wav.hpp"
#include "speech/recording.hpp"
#include "speech/tts/voice_profile.hpp"

namespace parley::api {

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
namespace http = net::http;
using net::RequestContext;
using net::Response;
namespace audio = speech::audio;
namespace tts = speech::tts;

constexpr net::StringRule kTtsText{
    .min_length = 1, .max_length = tts::kMaxSynthesisChars, .trim = true, .allow_newlines = true};
constexpr net::StringRule kShortField{.min_length = 1, .max_length = 64};

const net::FormPart* audio_part(const std::vector<net::FormPart>& parts) {
  if (const auto* part = net::find_part(parts, "audio")) return part;
  return net::find_part(parts, "file");
}

std::optional<std::string> text_part(const std::vector<net::FormPart>& parts,
                                     std::string_view name) {
  const auto* part = net::find_part(parts, name);
  if (part == nullptr || part->filename) return std::nullopt;
  return std::string(part->data);
}

Result<std::int64_t> parse_id(std::string_view text, std::string_view field) {
  std::int64_t id = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id < 1) {
    return fail(Errc::validation_failed, "field '" + std::string(field) + "' must be a room id");
  }
  return id;
}

// A language tag as the engines take it: letters, digits and '-', at most 35 characters.
Result<std::string> checked_language(std::string_view tag) {
  if (tag.empty() || tag.size() > 35) {
    return fail(Errc::validation_failed, "language must be a language tag such as en or pt-BR");
  }
  for (char c : tag) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) {
      return fail(Errc::validation_failed, "language must be a language tag such as en or pt-BR");
    }
  }
  return std::string(tag);
}

// Stored recordings are named by us: 32 hex digits + ".wav". Anything else is no recording.
bool valid_recording_name(std::string_view file) {
  if (file.size() != 36 || !file.ends_with(".wav")) return false;
  for (char c : file.substr(0, 32)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Whether the caller's plan covers the cloud engine `engine_name` (embedded engines are free).
Result<void> require_engine(const SpeechRoutesDeps& deps, std::int64_t user_id,
                            std::string_view engine_name) {
  if (deps.quotas == nullptr || engine_name == "pocketsphinx" || engine_name == "espeak-ng") {
    return {};
  }
  return deps.quotas->require(user_id, core::Entitlement::cloud_engines);
}

// Whole seconds of audio, rounded up: what a recognition costs.
std::int64_t billed_seconds(std::size_t samples, int sample_rate) {
  if (sample_rate <= 0) return 0;
  return static_cast<std::int64_t>((samples + static_cast<std::size_t>(sample_rate) - 1) /
                                   static_cast<std::size_t>(sample_rate));
}

Result<std::string> preferred_language(const SpeechRoutesDeps& deps,
                                       const auth::Principal& principal) {
  auto user = deps.accounts.accounts.profile(principal);
  if (!user) return user.error();
  return user->preferred_language;
}

// --- audio messages ----------------------------------------------------------------------------

asio::awaitable<Response> do_upload_audio(const SpeechRoutesDeps& deps, RequestContext& ctx) {
  auto principal = co_await authenticate(deps.accounts, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  auto job = [&deps, &request = ctx.request,
              principal = *principal]() -> Result<chat::StoredMessage> {
    auto parts = net::parse_multipart(request[http::field::content_type], request.body(),
                                      {.max_parts = 8, .max_total_bytes = deps.max_upload_bytes});
    if (!parts) return parts.error();
    const auto room_text =
        text_part(*parts, "room") ? text_part(*parts, "room") : text_part(*parts, "chatroom_id");
    if (!room_text) return fail(Errc::validation_failed, "form field 'room' is required");
    auto room_id = parse_id(*room_text, "room");
    if (!room_id) return room_id.error();
    // Permission before any work: non-members never get a decoder started.
    if (!deps.chatrooms.can_join_channel(*room_id, principal.user_id)) {
      return fail(Errc::forbidden, "you are not a member of this chat room");
    }
    const auto* file = audio_part(*parts);
    if (file == nullptr || file->data.empty()) {
      return fail(Errc::validation_failed, "form field 'audio' (the recording) is required");
    }
    std::string language;
    if (auto given = text_part(*parts, "language")) {
      auto checked = checked_language(*given);
      if (!checked) return checked.error();
      language = *checked;
    } else {
      auto preferred = preferred_language(deps, principal);
      if (!preferred) return preferred.error();
      language = *preferred;
    }
    auto engine = deps.engines.recognizer_for(language);
    if (!engine) return engine.error();
    if (auto allowed = require_engine(deps, principal.user_id, (*engine)->name()); !allowed) {
      return allowed.error();
    }
    auto pcm = audio::decode_sandboxed(deps.decoder, file->data);
    if (!pcm) return pcm.error();
    if (pcm->samples.empty()) return fail(Errc::validation_failed, "the recording holds no audio");
    // The recording's length is known once decoded: counted before recognition runs.
    const auto seconds = billed_seconds(pcm->samples.size(), pcm->sample_rate);
    if (deps.quotas != nullptr) {
      if (auto counted =
              deps.quotas->consume(principal.user_id, core::Metered::speech_seconds, seconds);
          !counted) {
        return counted.error();
      }
    }
    auto transcript = speech::transcribe_recording(**engine, *pcm, language);
    if (!transcript && deps.quotas != nullptr) {
      deps.quotas->refund(principal.user_id, core::Metered::speech_seconds, seconds);
    }
    if (!transcript) return transcript.error();
    if (transcript->text.empty()) {
      return fail(Errc::validation_failed, "no speech was recognized in the recording");
    }
    const std::string name = core::random_hex(16) + ".wav";
    if (auto written =
            core::write_file_atomically(deps.audio_folder, name, audio::encode_wav(*pcm));
        !written) {
      return written.error();
    }
    auto stored = deps.chatrooms.post_message(*room_id, principal.user_id, transcript->text,
                                              chat::MessageKind::audio, transcript->language,
                                              std::nullopt, name);
    if (!stored) {
      core::remove_stored_file(deps.audio_folder, name);
      return stored.error();
    }
    deps.chatrooms.announce_message(*stored);
    return std::move(*stored);
  };
  auto stored = co_await deps.workers.run(std::move(job));
  if (!stored) co_return fail_with(stored.error(), ctx, &deps.log);
  co_return ok_json(ctx, {{"message", chat::to_json(*stored, deps.public_base_url)}},
                    http::status::created);
}

asio::awaitable<Response> do_get_audio(const SpeechRoutesDeps& deps, RequestContext& ctx) {
  auto principal = co_await authenticate(deps.accounts, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  std::string file(ctx.params.get("file"));
  if (!valid_recording_name(file)) {
    co_return fail_with(fail(Errc::not_found, "no such recording"), ctx);
  }
  auto job = [&deps, file, viewer = principal->user_id]() -> Result<std::string> {
    if (auto room = deps.chatrooms.room_of_audio(file, viewer); !room) return room.error();
    std::ifstream in(deps.audio_folder / file, std::ios::binary);
    if (!in) return fail(Errc::not_found, "no such recording");
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  auto bytes = co_await deps.workers.run(std::move(job));
  if (!bytes) co_return fail_with(bytes.error(), ctx, &deps.log);
  Response res{http::status::ok, ctx.request.version()};
  res.set(http::field::content_type, "audio/wav");
  // Private media: never in shared caches, never rendered in the page's origin (F46).
  res.set(http::field::cache_control, "private, max-age=3600");
  res.set(http::field::content_disposition, "attachment; filename=\"" + file + "\"");
  res.set("Content-Security-Policy", "sandbox");
  res.body() = std::move(*bytes);
  res.prepare_payload();
  co_return res;
}

// --- text-to-speech ----------------------------------------------------------------------------

asio::awaitable<Response> do_tts(const SpeechRoutesDeps& deps, RequestContext& ctx) {
  auto principal = co_await authenticate(deps.accounts, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  auto body = net::parse_json_object(ctx.request);
  if (!body) co_return fail_with(body.error(), ctx);
  auto text = net::required_string(*body, "text", kTtsText);
  if (!text) co_return fail_with(text.error(), ctx);
  auto language = net::optional_string(*body, "language", kShortField);
  if (!language) co_return fail_with(language.error(), ctx);
  auto voice = net::optional_string(*body, "voice", kShortField);
  if (!voice) co_return fail_with(voice.error(), ctx);
  auto format_name = net::optional_string(*body, "format", kShortField);
  if (!format_name) co_return fail_with(format_name.error(), ctx);

  // The format: an explicit field wins; otherwise the Accept header; otherwise ogg/opus.
  tts::AudioFormat format = tts::AudioFormat::ogg_opus;
  if (*format_name) {
    auto parsed = tts::parse_audio_format(**format_name);
    if (!parsed) co_return fail_with(parsed.error(), ctx);
    format = *parsed;
  } else if (const auto accept = ctx.request[http::field::accept]; !accept.empty()) {
    auto chosen = tts::format_from_accept(accept);
    if (!chosen) {
      co_return net::error_response(http::status::not_acceptable, "not_acceptable",
                                    "audio is available as audio/ogg, audio/mpeg or audio/wav",
                                    ctx.request.version());
    }
    format = *chosen;
  }
  auto job = [&deps, principal = *principal, text = *text, language = *language, voice = *voice,
              format]() -> Result<std::pair<tts::SynthesizedSpeech, std::string>> {
    std::string lang;
    if (language) {
      auto checked = checked_language(*language);
      if (!checked) return checked.error();
      lang = *checked;
    } else {
      auto preferred = preferred_language(deps, principal);
      if (!preferred) return preferred.error();
      lang = *preferred;
    }
    tts::SynthesisRequest request{text, lang, std::nullopt, std::nullopt};
    tts::SpeechSynthesizer* engine = nullptr;
    // "me": the caller's own voice reference, cloned or approximated.
    if (voice && *voice == "me") {
      auto mine = deps.voices.find(principal.user_id);
      if (!mine) return mine.error();
      if (!mine->has_value()) {
        return fail(Errc::not_found, "you have no voice reference; POST /api/voice-clone first");
      }
      const auto& stored = **mine;
      if (stored.mode == speech::VoiceMode::clone && deps.engines.cloud_synthesizer() &&
          deps.engines.cloud_synthesizer()->supports(lang)) {
        engine = deps.engines.cloud_synthesizer();
        request.voice = stored.provider_voice_id;
      } else if (deps.engines.embedded_synthesizer() &&
                 deps.engines.embedded_synthesizer()->supports(lang)) {
        engine = deps.engines.embedded_synthesizer();
        request.profile = stored.profile;
      } else {
        return fail(Errc::unsupported, "no engine can speak '" + lang + "' in your voice");
      }
    } else {
      auto chosen = deps.engines.synthesizer_for(lang);
      if (!chosen) return chosen.error();
      engine = *chosen;
      request.voice = voice;
    }
    if (auto allowed = require_engine(deps, principal.user_id, engine->name()); !allowed) {
      return allowed.error();
    }
    auto speech = engine->synthesize(request, format);
    if (!speech) return speech.error();
    return std::pair{std::move(*speech), std::string(engine->name())};
  };
  auto result = co_await deps.workers.run(std::move(job));
  if (!result) co_return fail_with(result.error(), ctx, &deps.log);
  Response res{http::status::ok, ctx.request.version()};
  res.set(http::field::content_type, tts::mime_type(result->first.format));
  res.set(http::field::cache_control, "no-store");
  res.set("X-Parley-Engine", result->second);
  res.set("X-Parley-Duration-Ms", std::to_string(result->first.duration.count()));
  res.body() = std::move(result->first.audio);
  res.prepare_payload();
  co_return res;
}

// --- voice reference ---------------------------------------------------------------------------

// Removes what a replaced or deleted voice left behind: its file and the provider's voice.
void discard_voice(const SpeechRoutesDeps& deps, const speech::StoredVoice& voice) {
  core::remove_stored_file(deps.voice_reference_folder, voice.reference_file);
  if (voice.mode == speech::VoiceMode::clone && voice.provider_voice_id && deps.elevenlabs) {
    if (auto deleted = deps.elevenlabs->delete_voice(*voice.provider_voice_id); !deleted) {
      deps.log.warning("cloned_voice_not_deleted",
                       {{"user_id", voice.user_id}, {"error", deleted.error().message}});
    }
  }
}

asio::awaitable<Response> do_voice_clone(const SpeechRoutesDeps& deps, RequestContext& ctx) {
  auto principal = co_await authenticate(deps.accounts, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  if (principal->is_guest) {
    co_return fail_with(fail(Errc::forbidden, "guests cannot keep a voice; create an account"),
                        ctx);
  }
  auto job = [&deps, &request = ctx.request,
              user_id = principal->user_id]() -> Result<speech::StoredVoice> {
    auto parts = net::parse_multipart(request[http::field::content_type], request.body(),
                                      {.max_parts = 8, .max_total_bytes = deps.max_upload_bytes});
    if (!parts) return parts.error();
    const auto consent = text_part(*parts, "consent");
    if (!consent || (*consent != "true" && *consent != "1" && *consent != "yes")) {
      return fail(Errc::validation_failed,
                  "field 'consent' must be true: we keep your voice recording only with it");
    }
    const auto* file = audio_part(*parts);
    if (file == nullptr || file->data.empty()) {
      return fail(Errc::validation_failed, "form field 'audio' (your voice) is required");
    }
    std::string name = text_part(*parts, "name").value_or("parley-user-" + std::to_string(user_id));
    if (name.empty() || name.size() > 100) {
      return fail(Errc::validation_failed, "name must be 1 to 100 characters");
    }
    auto pcm = audio::decode_sandboxed(deps.decoder, file->data);
    if (!pcm) return pcm.error();
    auto profile = tts::estimate_voice_profile(pcm->samples, pcm->sample_rate);
    if (!profile) return profile.error();
    const std::string wav = audio::encode_wav(*pcm);
    speech::StoredVoice voice;
    voice.user_id = user_id;
    voice.profile = *profile;
    voice.consented_at = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
    // A provider clone is a paid feature; without it the embedded engine approximates the voice.
    const bool may_clone =
        deps.quotas == nullptr ||
        deps.quotas->require(user_id, core::Entitlement::voice_cloning).has_value();
    if (deps.elevenlabs != nullptr && may_clone) {
      auto cloned =
          deps.elevenlabs->add_voice(name, {tts::ReferenceFile{"reference.wav", "audio/wav", wav}},
                                     "Parley user voice (consented)");
      if (!cloned) return cloned.error();
      voice.mode = speech::VoiceMode::clone;
      voice.provider = "elevenlabs";
      voice.provider_voice_id = *cloned;
    } else {
      voice.mode = speech::VoiceMode::approximate;
      voice.provider = "espeak-ng";
    }
    voice.reference_file = core::random_hex(16) + ".wav";
    if (auto written =
            core::write_file_atomically(deps.voice_reference_folder, voice.reference_file, wav);
        !written) {
      discard_voice(deps, voice);
      return written.error();
    }
    auto previous = deps.voices.put(voice);
    if (!previous) {
      discard_voice(deps, voice);
      return previous.error();
    }
    if (previous->has_value()) discard_voice(deps, **previous);
    auto stored = deps.voices.find(user_id);
    if (!stored) return stored.error();
    if (!stored->has_value()) return fail(Errc::internal, "the voice was not stored");
    return std::move(**stored);
  };
  auto voice = co_await deps.workers.run(std::move(job));
  if (!voice) co_return fail_with(voice.error(), ctx, &deps.log);
  co_return ok_json(ctx, speech::to_json(*voice), http::status::created);
}

asio::awaitable<Response> do_get_voice(const SpeechRoutesDeps& deps, RequestContext& ctx) {
  auto principal = co_await authenticate(deps.accounts, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  auto job = [&deps, user_id = principal->user_id]() -> Result<speech::StoredVoice> {
    auto voice = deps.voices.find(user_id);
    if (!voice) return voice.error();
    if (!voice->has_value()) return fail(Errc::not_found, "you have no voice reference");
    return std::move(**voice);
  };
  auto voice = co_await deps.workers.run(std::move(job));
  if (!voice) co_return fail_with(voice.error(), ctx, &deps.log);
  co_return ok_json(ctx, speech::to_json(*voice));
}

asio::awaitable<Response> do_delete_voice(const SpeechRoutesDeps& deps, RequestContext& ctx) {
  auto principal = co_await authenticate(deps.accounts, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  auto job = [&deps, user_id = principal->user_id]() -> Result<bool> {
    auto removed = deps.voices.remove(user_id);
    if (!removed) return removed.error();
    if (!removed->has_value()) return fail(Errc::not_found, "you have no voice reference");
    discard_voice(deps, **removed);
    return true;
  };
  auto done = co_await deps.workers.run(std::move(job));
  if (!done) co_return fail_with(done.error(), ctx, &deps.log);
  co_return ok_json(ctx, {{"status", "deleted"}});
}

}  // namespace

std::function<void()> prepare_voice_removal(const SpeechRoutesDeps& deps, std::int64_t user_id) {
  auto voice = deps.voices.find(user_id);
  if (!voice || !voice->has_value()) return {};
  return [&deps, kept = **voice] { discard_voice(deps, kept); };
}

void add_speech_routes(net::Router& router, const SpeechRoutesDeps& deps) {
  const SpeechRoutesDeps* d = &deps;
  const auto route = [&router, d](http::verb method, std::string path, auto handler,
                                  net::RouteOptions options = {}) {
    router.add(
        method, std::move(path), [d, handler](RequestContext& ctx) { return handler(*d, ctx); },
        options);
  };
  const net::RouteOptions upload{.max_body_bytes = deps.max_upload_bytes + 64 * 1024,
                                 .requires_bearer = true};
  route(http::verb::post, "/api/upload-audio", do_upload_audio, upload);
  route(http::verb::get, "/api/audio/{file}", do_get_audio);
  route(http::verb::post, "/api/tts", do_tts);
  route(http::verb::post, "/api/voice-clone", do_voice_clone, upload);
  route(http::verb::get, "/api/voice-clone", do_get_voice);
  route(http::verb::delete_, "/api/voice-clone", do_delete_voice);
}

}  // namespace parley::api
