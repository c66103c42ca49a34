#include "events/speech_events.hpp"

#include <boost/asio/post.hpp>
#include <cctype>
#include <chrono>
#include <fstream>
#include <iterator>

#include "core/random.hpp"
#include "core/stored_files.hpp"
#include "events/chat_events.hpp"
#include "events/event_errors.hpp"
#include "events/speaker_languages.hpp"
#include "speech/audio/wav.hpp"
#include "speech/recording.hpp"

namespace parley::events {

namespace asio = boost::asio;
namespace json = boost::json;
using realtime::AckReply;
using realtime::SocketPtr;

namespace {

std::optional<std::string> string_field(const json::object& body, std::string_view name) {
  const auto* value = body.if_contains(name);
  if (value == nullptr || !value->is_string()) return std::nullopt;
  return std::string(value->as_string());
}

std::optional<std::int64_t> room_field(const json::object& body) {
  const auto* room = body.if_contains("room");
  if (room == nullptr) room = body.if_contains("room_id");
  if (room == nullptr) return std::nullopt;
  if (room->is_int64() && room->as_int64() > 0) return room->as_int64();
  if (room->is_string()) {
    try {
      std::size_t used = 0;
      const std::string text(room->as_string());
      const auto id = std::stoll(text, &used);
      if (used == text.size() && id > 0) return id;
    } catch (const std::exception&) {
    }
  }
  return std::nullopt;
}

// A refused audio_stream request: through its ack, or as an audio_error event without one.
void refuse_audio(const SocketPtr& socket, const AckReply& ack, const json::object* body,
                  const Error& error) {
  json::object payload{{"error", error_json(error)}};
  if (body != nullptr) {
    if (const auto* id = body->if_contains("stream_id")) payload["stream_id"] = *id;
  }
  if (ack) {
    ack(json::array{payload});
  } else {
    socket->emit("audio_error", json::array{payload});
  }
}

}  // namespace

asio::awaitable<void> SpeechEvents::audio_stream(SocketPtr socket, json::array args,
                                                 realtime::Attachments attachments, AckReply ack) {
  const auto refuse = [&](const Error& error, const json::object* body = nullptr) {
    refuse_audio(socket, ack, body, error);
  };
  if (args.empty() || !args[0].is_object()) {
    co_return refuse(
        fail(Errc::validation_failed,
             "expected {\"action\": \"start\"|\"chunk\"|\"stop\", \"stream_id\": ...}"));
  }
  const auto& body = args[0].as_object();
  const auto action = string_field(body, "action");
  const auto stream_id = string_field(body, "stream_id");
  if (!action || !stream_id) {
    co_return refuse(
        fail(Errc::validation_failed, "fields 'action' and 'stream_id' (a string) are required"),
        &body);
  }
  if (*action != "chunk" && !attachments.empty()) {
    co_return refuse(fail(Errc::validation_failed, "only 'chunk' carries binary audio"), &body);
  }
  const speech::StreamKey key{socket->id(), *stream_id};
  if (*action == "start") co_return co_await start(socket, body, std::move(ack));
  if (*action == "chunk") {
    if (attachments.size() != 1) {
      co_return refuse(
          fail(Errc::validation_failed, "a chunk carries exactly one binary attachment"), &body);
    }
    auto accepted = streams_->push(key, std::move(attachments[0]));
    if (!accepted) co_return refuse(accepted.error(), &body);
    if (ack) {
      ack(json::array{
          json::object{{"stream_id", *stream_id}, {"backlog_ms", accepted->backlog.count()}}});
    }
    co_return;
  }
  if (*action == "stop") {
    auto stopped = streams_->stop(key);
    if (!stopped) co_return refuse(stopped.error(), &body);
    if (ack) ack(json::array{json::object{{"stream_id", *stream_id}}});
    co_return;
  }
  refuse(fail(Errc::validation_failed, "action must be start, chunk or stop"), &body);
}

asio::awaitable<void> SpeechEvents::start(SocketPtr socket, const json::object& body,
                                          AckReply ack) {
  const auto refuse = [&](const Error& error) { refuse_audio(socket, ack, &body, error); };
  const auto room = room_field(body);
  if (!room)
    co_return refuse(fail(Errc::validation_failed, "field 'room' (a room id) is required"));
  if (socket->rooms().count(ChatEvents::channel(*room)) == 0) {
    co_return refuse(fail(Errc::forbidden, "join_room first"));
  }
  const auto codec_text = string_field(body, "codec");
  if (!codec_text) {
    co_return refuse(
        fail(Errc::validation_failed, "field 'codec' is required: webm-opus, ogg-opus or pcm16"));
  }
  auto codec = speech::parse_stream_codec(*codec_text);
  if (!codec) co_return refuse(codec.error());
  int sample_rate = 16000;
  if (const auto* rate = body.if_contains("sample_rate"); rate != nullptr && !rate->is_null()) {
    if (!rate->is_int64()) {
      co_return refuse(fail(Errc::validation_failed, "sample_rate must be an integer"));
    }
    if (*codec != speech::StreamCodec::pcm16) {
      co_return refuse(fail(Errc::validation_failed,
                            "sample_rate is declared for pcm16 only (opus carries its own)"));
    }
    if (rate->as_int64() < 8000 || rate->as_int64() > 48000) {
      co_return refuse(
          fail(Errc::validation_failed, "sample_rate must be between 8000 and 48000 for pcm16"));
    }
    sample_rate = static_cast<int>(rate->as_int64());
  } else if (*codec == speech::StreamCodec::pcm16) {
    co_return refuse(fail(Errc::validation_failed, "pcm16 streams must declare sample_rate"));
  }
  // Admission control: while captions are late and degrading did not bring them back, a new
  // stream would make every room slower still.
  if (deps_.service_level != nullptr && deps_.service_level->overloaded() &&
      deps_.service_level->level() != service_level::Level::full) {
    co_return refuse(Error(Errc::busy,
                           "the server is at capacity (captions are running late); new audio "
                           "streams are refused until it recovers, try again shortly",
                           std::chrono::seconds(10)));
  }
  auto chosen = co_await stream_language(socket->user_id(), *room, body);
  if (!chosen) co_return refuse(chosen.error());
  const std::string* language = &chosen->language;
  if (deps_.quotas != nullptr) {
    // Admission: some of today's recognition left, and the engine within the plan.
    auto admit = [quotas = deps_.quotas, &engines = deps_.engines, user_id = socket->user_id(),
                  language = *language]() -> Result<void> {
      if (auto left = quotas->check(user_id, core::Metered::speech_seconds); !left) return left;
      auto engine = engines.recognizer_for(language);
      if (engine && (*engine)->name() != "pocketsphinx") {
        return quotas->require(user_id, core::Entitlement::cloud_engines);
      }
      return {};
    };
    if (auto admitted = co_await deps_.workers.run(std::move(admit)); !admitted) {
      co_return refuse(admitted.error());
    }
  }

  speech::StreamSpec spec;
  if (glossary_ != nullptr) {
    // The room's terms, so that an engine that can be told hears them right.
    auto terms = [this, room_id = *room] {
      return Result<std::vector<translate::GlossaryTerm>>(glossary_terms(room_id));
    };
    if (auto known = co_await deps_.workers.run(std::move(terms)); known) {
      for (const auto& term : *known) spec.vocabulary.push_back({term.term, term.pronunciation});
    }
  }
  spec.key = speech::StreamKey{socket->id(), *string_field(body, "stream_id")};
  spec.room_id = *room;
  spec.user_id = socket->user_id();
  spec.codec = *codec;
  spec.sample_rate = sample_rate;
  spec.language = *language;
  json::value speaker =
      socket->data().contains("user") ? socket->data()["user"] : json::value(nullptr);
  // Registered before the stream starts (its first error may come at once); a refused start
  // removes only its own entry, never that of an open stream with the same id.
  bool registered = false;
  {
    std::lock_guard lock(mutex_);
    registered = speakers_
                     .try_emplace(spec.key, Speaker{socket->user_id(), speaker, chosen->tracked,
                                                    chosen->listening})
                     .second;
  }
  const auto key = spec.key;
  auto started = streams_->start(std::move(spec));
  if (!started) {
    if (registered) {
      std::lock_guard lock(mutex_);
      speakers_.erase(key);
    }
    co_return refuse(started.error());
  }
  deps_.log.info("speech_stream_started", {{"socket", socket->id()},
                                           {"stream", key.stream_id},
                                           {"room", *room},
                                           {"engine", started->engine},
                                           {"language", *language}});
  if (ack) {
    ack(json::array{json::object{{"stream_id", key.stream_id},
                                 {"engine", started->engine},
                                 {"partials", started->partials},
                                 {"language", *language}}});
  }
}

asio::awaitable<Result<SpeechEvents::StreamLanguage>> SpeechEvents::stream_language(
    std::int64_t user_id, std::int64_t room_id, const json::object& body) {
  const auto* asked = body.if_contains("language");
  if (deps_.speakers == nullptr || (asked != nullptr && !asked->is_null())) {
    auto language = co_await language_of(user_id, body);
    if (!language) co_return language.error();
    co_return StreamLanguage{std::move(*language), false, {}};
  }
  auto job = [this, user_id, room_id]() -> Result<StreamLanguage> {
    auto user = deps_.accounts.profile(auth::Principal{user_id, {}, false});
    if (!user) return user.error();
    const auto spoken = deps_.speakers->spoken(user_id);
    if (spoken.empty()) return StreamLanguage{user->preferred_language, false, {}};
    auto listening = deps_.chatrooms.listening_language(room_id, user_id);
    StreamLanguage chosen;
    chosen.listening = listening ? *listening : user->preferred_language;
    // Detection needs the cloud engine: only for a plan that has it (else the tracked language).
    const bool may_detect =
        spoken.size() >= 2 && deps_.engines.recognizer_for("auto") &&
        (deps_.quotas == nullptr ||
         deps_.quotas->require(user_id, core::Entitlement::cloud_engines).has_value());
    if (may_detect) {
      chosen.language = "auto";
      chosen.tracked = true;
    } else {
      chosen.language = deps_.speakers->current(user_id, room_id, chosen.listening);
    }
    return chosen;
  };
  co_return co_await deps_.workers.run(std::move(job));
}

void SpeechEvents::track(speech::Transcription& result, const std::string& listening) {
  const std::string detected = translate::normalize_language_tag(result.language);
  // Confident: the engine's language and CLD2's reading of the text agree.
  translate::Detection detection = detector_.detect(result.text);
  detection.reliable = detection.reliable && !detected.empty() && detection.language == detected;
  if (detection.language != detected) detection.language = detected.empty() ? "und" : detected;
  const std::string label =
      deps_.speakers->label(result.user_id, result.room_id, listening, detection);
  if (label.empty() || label == detected) return;
  // One utterance is not yet a switch: hear it again in the speaker's current language.
  auto engine = deps_.engines.recognizer_for(label);
  if (engine) {
    auto heard = speech::transcribe_recording(**engine, *result.audio, label);
    if (heard && !heard->text.empty()) {
      deps_.log.info(
          "speech_language_kept",
          {{"stream", result.key.stream_id}, {"detected", detected}, {"language", label}});
      result.text = std::move(heard->text);
      result.language = label;
      result.engine = std::string((*engine)->name());
      return;
    }
  }
  // Heard nothing else: the text is what the engine made of it, in the language it detected.
  deps_.log.info("speech_language_not_kept",
                 {{"stream", result.key.stream_id}, {"detected", detected}, {"language", label}});
}

asio::awaitable<Result<std::string>> SpeechEvents::language_of(std::int64_t user_id,
                                                               const json::object& body) {
  if (const auto* value = body.if_contains("language"); value != nullptr && !value->is_null()) {
    if (!value->is_string()) co_return fail(Errc::validation_failed, "language must be a string");
    const std::string_view tag = value->as_string();
    const bool valid = !tag.empty() && tag.size() <= 35 &&
                       tag.find_first_not_of(
                           "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                           "0123456789-_") == std::string_view::npos;
    if (!valid) {
      co_return fail(Errc::validation_failed,
                     "language must be a language tag such as en or pt-BR (or auto)");
    }
    co_return std::string(tag);
  }
  auto job = [&accounts = deps_.accounts, user_id]() -> Result<std::string> {
    auto user = accounts.profile(auth::Principal{user_id, {}, false});
    if (!user) return user.error();
    return user->preferred_language;
  };
  co_return co_await deps_.workers.run(std::move(job));
}

SpeechEvents::~SpeechEvents() {
  speaker_pool_.stop();
  speaker_pool_.join();
}

void SpeechEvents::on_disconnect(const SocketPtr& socket) {
  if (streams_ != nullptr) streams_->stop_connection(socket->id());
  std::lock_guard lock(mutex_);
  listeners_.erase(socket->id());
  room_listeners_.erase(socket->id());
}

void SpeechEvents::room_joined(const realtime::Socket& socket, std::int64_t room_id,
                               const chat::ListeningChoice& choice) {
  std::lock_guard lock(mutex_);
  // A connection that went away meanwhile leaves nothing behind (its on_disconnect, which
  // takes this lock, runs after it is marked closed).
  if (socket.closed()) return;
  if (!choice.chosen) {
    if (auto it = room_listeners_.find(socket.id()); it != room_listeners_.end()) {
      it->second.erase(room_id);
      if (it->second.empty()) room_listeners_.erase(it);
    }
    return;
  }
  auto format = speech::tts::parse_audio_format(choice.format);
  room_listeners_[socket.id()][room_id] = RoomListener{
      socket.user_id(), choice.mode, format ? *format : speech::tts::AudioFormat::ogg_opus};
}

void SpeechEvents::room_left(const realtime::Socket& socket, std::int64_t room_id) {
  std::lock_guard lock(mutex_);
  if (auto it = room_listeners_.find(socket.id()); it != room_listeners_.end()) {
    it->second.erase(room_id);
    if (it->second.empty()) room_listeners_.erase(it);
  }
}

void SpeechEvents::refresh_choices(const SocketPtr& socket) {
  std::vector<std::int64_t> rooms;
  for (const auto& name : socket->rooms()) {
    if (name.starts_with("room:")) rooms.push_back(std::stoll(name.substr(5)));
  }
  if (rooms.empty()) return;
  deps_.workers.post([this, socket, rooms]() -> Result<void> {
    for (const auto room : rooms) {
      auto choice = deps_.chatrooms.listening_choice(room, socket->user_id());
      if (!choice) continue;  // no longer a member: nothing to hear
      if (socket->rooms().count(ChatEvents::channel(room)) != 0) {
        room_joined(*socket, room, *choice);
      }
    }
    return {};
  });
}

asio::awaitable<Result<void>> SpeechEvents::can_hear_in(std::int64_t user_id,
                                                        const std::string& language) {
  auto engine = deps_.engines.synthesizer_for(language);
  if (!engine) co_return engine.error();
  if (deps_.quotas == nullptr || (*engine)->name() == "espeak-ng") co_return Result<void>{};
  auto entitled = [quotas = deps_.quotas, user_id]() -> Result<void> {
    return quotas->require(user_id, core::Entitlement::cloud_engines);
  };
  co_return co_await deps_.workers.run(std::move(entitled));
}

asio::awaitable<void> SpeechEvents::set_voice_mode(SocketPtr socket, json::array args,
                                                   AckReply ack) {
  const auto refuse = [&](const Error& error) {
    if (ack) ack(json::array{json::object{{"error", error_json(error)}}});
  };
  if (args.empty() || !args[0].is_object()) {
    co_return refuse(fail(Errc::validation_failed,
                          "expected {\"room\": <id>, \"mode\": \"captions\"|\"neutral\"|"
                          "\"cloned\"|\"original\", \"format\"?}"));
  }
  const auto& body = args[0].as_object();
  const auto* room = body.if_contains("room");
  if (room == nullptr || !room->is_int64() || room->as_int64() <= 0) {
    co_return refuse(fail(Errc::validation_failed, "field 'room' (a chat room id) is required"));
  }
  const std::int64_t room_id = room->as_int64();
  if (socket->rooms().count(ChatEvents::channel(room_id)) == 0) {
    co_return refuse(fail(Errc::forbidden, "join_room first"));
  }
  const auto mode_text = string_field(body, "mode");
  if (!mode_text) co_return refuse(fail(Errc::validation_failed, "field 'mode' is required"));
  auto mode = chat::parse_listening_mode(*mode_text);
  if (!mode) co_return refuse(mode.error());
  chat::ListeningChoice choice{*mode, "ogg"};
  if (const auto* format = body.if_contains("format"); format != nullptr && !format->is_null()) {
    auto parsed = format->is_string() ? speech::tts::parse_audio_format(format->as_string())
                                      : Result<speech::tts::AudioFormat>(fail(
                                            Errc::validation_failed, "format must be a string"));
    if (!parsed) co_return refuse(parsed.error());
    choice.format = std::string(speech::tts::file_extension(*parsed));
  }
  // A voice nobody here can speak in the listener's language is refused now, not silent later.
  if (*mode == chat::ListeningMode::neutral || *mode == chat::ListeningMode::cloned) {
    const std::string language =
        language_lookup_ ? language_lookup_(socket->id(), room_id) : std::string();
    if (language.empty()) {
      co_return refuse(fail(Errc::unavailable, "speech is not available in this room"));
    }
    auto speakable = co_await can_hear_in(socket->user_id(), language);
    if (!speakable) co_return refuse(speakable.error());
  }
  auto store = [&chatrooms = deps_.chatrooms, room_id, user_id = socket->user_id(),
                choice]() -> Result<chat::ListeningChoice> {
    return chatrooms.set_listening_choice(room_id, user_id, choice);
  };
  auto stored = co_await deps_.workers.run(std::move(store));
  if (!stored) co_return refuse(stored.error());
  if (socket->rooms().count(ChatEvents::channel(room_id)) != 0) {
    room_joined(*socket, room_id, *stored);
  }
  if (ack) {
    ack(json::array{json::object{
        {"room", room_id}, {"mode", chat::to_string(stored->mode)}, {"format", stored->format}}});
  }
}

asio::awaitable<void> SpeechEvents::tts_preferences(SocketPtr socket, json::array args,
                                                    AckReply ack) {
  const auto refuse = [&](const Error& error) {
    if (ack) ack(json::array{json::object{{"error", error_json(error)}}});
  };
  if (args.empty() || !args[0].is_object()) {
    co_return refuse(fail(Errc::validation_failed,
                          "expected {\"enabled\": true|false, \"language\"?, \"format\"?}"));
  }
  const auto& body = args[0].as_object();
  const auto* enabled = body.if_contains("enabled");
  if (enabled == nullptr || !enabled->is_bool()) {
    co_return refuse(fail(Errc::validation_failed, "field 'enabled' (true or false) is required"));
  }
  if (!enabled->as_bool()) {
    {
      std::lock_guard lock(mutex_);
      listeners_.erase(socket->id());
    }
    if (ack) ack(json::array{json::object{{"enabled", false}}});
    co_return;
  }
  Listener listener;
  listener.user_id = socket->user_id();
  if (auto format = string_field(body, "format")) {
    auto parsed = speech::tts::parse_audio_format(*format);
    if (!parsed) co_return refuse(parsed.error());
    listener.format = *parsed;
  }
  auto language = co_await language_of(socket->user_id(), body);
  if (!language) co_return refuse(language.error());
  listener.language = std::move(*language);
  // Refuse at once what could never be spoken, rather than staying silent later.
  auto speakable = co_await can_hear_in(socket->user_id(), listener.language);
  if (!speakable) co_return refuse(speakable.error());
  {
    std::lock_guard lock(mutex_);
    if (!socket->closed()) listeners_[socket->id()] = listener;
  }
  if (ack) {
    ack(json::array{json::object{{"enabled", true},
                                 {"language", listener.language},
                                 {"format", speech::tts::file_extension(listener.format)}}});
  }
}

namespace {

// "pt-BR" and "pt" are the same language for a listener.
std::string primary_subtag(std::string_view tag) {
  std::string out(tag.substr(0, tag.find_first_of("-_")));
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

void SpeechEvents::message_delivered(const chat::StoredMessage& message) {
  queue_speech(message.id, [this, message] {
    send_original(message);
    speak(message);
  });
}

double SpeechEvents::synthesis_backlog() const {
  if (deps_.max_pending_speech == 0) return 0.0;
  return static_cast<double>(pending_speech_.load()) /
         static_cast<double>(deps_.max_pending_speech);
}

bool SpeechEvents::anyone_listens() {
  std::lock_guard lock(mutex_);
  if (!listeners_.empty()) return true;
  for (const auto& [socket, rooms] : room_listeners_) {
    for (const auto& [room, listener] : rooms) {
      if (listener.mode != chat::ListeningMode::captions) return true;
    }
  }
  return false;
}

void SpeechEvents::send_original(const chat::StoredMessage& message) {
  if (server_ == nullptr || !message.audio_path || !message.sender) return;
  std::vector<SocketPtr> wanting;
  const std::string channel = ChatEvents::channel(message.room_id);
  const auto sockets_in_room = server_->sockets_in(channel);
  {
    std::lock_guard lock(mutex_);
    for (const auto& socket : sockets_in_room) {
      auto it = room_listeners_.find(socket->id());
      if (it == room_listeners_.end()) continue;
      auto room = it->second.find(message.room_id);
      if (room == it->second.end() || room->second.mode != chat::ListeningMode::original ||
          room->second.user_id == message.sender->id) {
        continue;
      }
      wanting.push_back(socket);
    }
  }
  if (wanting.empty()) return;
  std::ifstream in(deps_.audio_folder / *message.audio_path, std::ios::binary);
  if (!in) {
    deps_.log.warning("original_audio_missing", {{"message_id", message.id}});
    return;
  }
  std::string recording(std::istreambuf_iterator<char>(in), {});
  const json::object payload{{"room", message.room_id},
                             {"message_id", message.id},
                             {"language", message.language.value_or("")},
                             {"mime_type", "audio/wav"},
                             {"synthetic", false},
                             {"audio", json::object{{"_placeholder", true}, {"num", 0}}}};
  const realtime::Attachments audio{std::move(recording)};
  for (const auto& socket : wanting) {
    // Still in the room (a kick or ban may have come while the file was read).
    if (socket->rooms().count(channel) == 0) continue;
    socket->emit("original_audio", json::array{payload}, audio);
  }
}

void SpeechEvents::translation_delivered(std::int64_t message_id,
                                         const translate::Translation& translation) {
  if (level() >= service_level::Level::captions) return;  // only captions are affordable now
  queue_speech(message_id, [this, message_id, translation] {
    auto message = deps_.chatrooms.find_message(message_id);
    if (!message) return;  // deleted meanwhile
    message->text = translation.text;
    message->language = translation.target;
    speak(*message);
  });
}

std::vector<translate::GlossaryTerm> SpeechEvents::glossary_terms(std::int64_t room_id) {
  if (glossary_ == nullptr) return {};
  auto terms = glossary_->terms(room_id);
  if (!terms) {
    deps_.log.warning("glossary_unavailable",
                      {{"room", room_id}, {"error", terms.error().message}});
    return {};
  }
  return std::move(*terms);
}

void SpeechEvents::queue_speech(std::int64_t message_id, std::function<void()> speak_it) {
  if (!anyone_listens()) return;
  if (pending_speech_.fetch_add(1) >= deps_.max_pending_speech) {
    pending_speech_.fetch_sub(1);
    deps_.log.warning("tts_delivery_skipped",
                      {{"message_id", message_id}, {"reason", "too many messages waiting"}});
    return;
  }
  asio::post(speaker_pool_, [this, speak_it = std::move(speak_it)] {
    speak_it();
    pending_speech_.fetch_sub(1);
  });
}

void SpeechEvents::speak(const chat::StoredMessage& message) {
  if (server_ == nullptr || !message.sender) return;
  // Queued before the server degraded to captions: not synthesized now either.
  if (level() >= service_level::Level::captions) return;
  // Who wants it: listeners in the room other than the sender, grouped by what they need: the
  // audio format, and the speaker's voice or a neutral one.
  struct Group {
    speech::tts::AudioFormat format;
    bool speaker_voice = true;
    bool chosen = false;  ///< from a room choice (else a connection's tts_preferences)
    auto operator<=>(const Group&) const = default;
  };
  std::map<Group, std::vector<SocketPtr>> groups;
  std::string language = message.language.value_or("");
  if (language.empty()) {
    auto sender = deps_.accounts.profile(auth::Principal{message.sender->id, {}, false});
    language = sender ? sender->preferred_language : "en";
  }
  const auto sockets_in_room = server_->sockets_in(ChatEvents::channel(message.room_id));
  // The room's languages are read before the lock (the lookup takes the translation side's).
  std::map<std::string, std::string> room_languages;
  if (language_lookup_) {
    for (const auto& socket : sockets_in_room) {
      room_languages[socket->id()] = language_lookup_(socket->id(), message.room_id);
    }
  }
  {
    std::lock_guard lock(mutex_);
    for (const auto& socket : sockets_in_room) {
      if (socket->user_id() == message.sender->id) continue;
      // The room choice first; without one, the connection's tts_preferences.
      const RoomListener* chosen = nullptr;
      if (auto rooms = room_listeners_.find(socket->id()); rooms != room_listeners_.end()) {
        if (auto room = rooms->second.find(message.room_id); room != rooms->second.end()) {
          chosen = &room->second;
        }
      }
      if (chosen == nullptr) {
        if (auto it = listeners_.find(socket->id());
            it != listeners_.end() &&
            primary_subtag(it->second.language) == primary_subtag(language)) {
          groups[{it->second.format, true, false}].push_back(socket);
        }
        continue;
      }
      if (chosen->mode != chat::ListeningMode::neutral &&
          chosen->mode != chat::ListeningMode::cloned) {
        continue;
      }
      if (primary_subtag(room_languages[socket->id()]) != primary_subtag(language)) continue;
      groups[{chosen->format, chosen->mode == chat::ListeningMode::cloned, true}].push_back(socket);
    }
  }
  if (groups.empty()) return;
  auto voice = deps_.voices.find(message.sender->id);
  const std::optional<speech::StoredVoice> sender_voice =
      voice && voice->has_value() ? std::optional(**voice) : std::nullopt;
  // Past full service the speaker's voice (a provider clone, or the embedded approximation) is
  // not made: a neutral one costs less.
  const bool voices_shed = level() >= service_level::Level::neutral_voice;
  // Glossary terms said as the room fixed them (a respelling the engine reads naturally).
  const std::string spoken_text =
      translate::apply_pronunciations(message.text, glossary_terms(message.room_id));
  const std::string& lang = language;
  std::map<std::int64_t, bool> entitled;  // listener -> may hear the cloud voice
  for (const auto& [group, sockets] : groups) {
    const auto format = group.format;
    speech::tts::SynthesisRequest request{spoken_text, lang, std::nullopt, std::nullopt};
    speech::tts::SpeechSynthesizer* engine = nullptr;
    std::string voice_mode = "default";
    const bool speaker_voice = group.speaker_voice && !voices_shed;
    if (speaker_voice && sender_voice && sender_voice->mode == speech::VoiceMode::clone &&
        deps_.engines.cloud_synthesizer() && deps_.engines.cloud_synthesizer()->supports(lang)) {
      engine = deps_.engines.cloud_synthesizer();
      request.voice = sender_voice->provider_voice_id;
      voice_mode = "clone";
    } else if (speaker_voice && sender_voice && deps_.engines.embedded_synthesizer() &&
               deps_.engines.embedded_synthesizer()->supports(lang)) {
      engine = deps_.engines.embedded_synthesizer();
      request.profile = sender_voice->profile;
      voice_mode = "approximate";
    } else if (auto chosen = deps_.engines.synthesizer_for(lang); chosen) {
      engine = *chosen;
    }
    if (engine == nullptr) continue;  // refused at opt-in; the engine set never shrinks
    // A room choice outlives connections and plan changes: a neutral cloud voice is checked
    // against each listener's plan every time (tts_preferences checks once, at opt-in).
    std::vector<SocketPtr> hearing = sockets;
    if (group.chosen && deps_.quotas != nullptr && voice_mode == "default" &&
        engine->name() != "espeak-ng") {
      std::erase_if(hearing, [&](const SocketPtr& socket) {
        auto known = entitled.find(socket->user_id());
        if (known == entitled.end()) {
          known = entitled
                      .emplace(
                          socket->user_id(),
                          deps_.quotas->require(socket->user_id(), core::Entitlement::cloud_engines)
                              .has_value())
                      .first;
        }
        return !known->second;
      });
      if (hearing.empty()) continue;
    }
    auto spoken = engine->synthesize(request, format);
    if (!spoken) {
      deps_.log.warning("tts_delivery_failed",
                        {{"message_id", message.id}, {"error", spoken.error().message}});
      continue;
    }
    if (voice_mode == "clone") {
      // The original kept cloned translations on disk; so do we (one file per message and
      // language), so they can be fetched again without paying the provider twice.
      const std::string name = std::to_string(message.id) + "_" + primary_subtag(lang) + "." +
                               std::string(speech::tts::file_extension(format));
      (void)core::write_file_atomically(deps_.cloned_voice_folder, name, spoken->audio);
    }
    json::object payload{{"room", message.room_id},
                         {"message_id", message.id},
                         {"language", lang},
                         {"format", speech::tts::file_extension(format)},
                         {"mime_type", speech::tts::mime_type(format)},
                         {"engine", engine->name()},
                         {"voice", voice_mode},
                         {"synthetic", true},
                         {"duration_ms", spoken->duration.count()},
                         {"audio", json::object{{"_placeholder", true}, {"num", 0}}}};
    // The speaker's voice was chosen but is not to be had: say why the voice is neutral.
    if (group.chosen && group.speaker_voice && voice_mode == "default") {
      payload["voice_fallback"] = voices_shed && sender_voice ? "server_busy"
                                  : sender_voice              ? "voice_unavailable_in_language"
                                                              : "no_consented_voice";
    } else if (group.speaker_voice && voices_shed && sender_voice) {
      payload["voice_fallback"] = "server_busy";
    }
    const realtime::Attachments audio{spoken->audio};
    for (const auto& socket : hearing) {
      // Still in the room (a kick or ban may have come during synthesis).
      if (socket->rooms().count(ChatEvents::channel(message.room_id)) == 0) continue;
      socket->emit("tts_audio", json::array{payload}, audio);
    }
  }
}

// How long ago, from now, the utterance began and ended: the stream's live audio started at
// its origin and arrives in real time.
namespace {
chat::SpokenTiming spoken_timing(const speech::Transcription& result) {
  const auto since_origin = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::steady_clock::now() - result.audio_origin)
                                .count();
  return chat::SpokenTiming{since_origin - result.start_ms, since_origin - result.end_ms};
}
}  // namespace

void SpeechEvents::on_transcription(speech::Transcription result) {
  json::value speaker;
  bool tracked = false;
  std::string listening;
  {
    std::lock_guard lock(mutex_);
    auto it = speakers_.find(result.key);
    if (it != speakers_.end()) {
      speaker = it->second.profile;
      tracked = it->second.tracked;
      listening = it->second.listening;
    }
  }
  json::object event{{"room", result.room_id},      {"stream_id", result.key.stream_id},
                     {"speaker", speaker},          {"text", result.text},
                     {"is_final", result.is_final}, {"language", result.language},
                     {"start_ms", result.start_ms}, {"end_ms", result.end_ms},
                     {"engine", result.engine}};
  if (!result.is_final || result.text.empty() || !result.audio) {
    server_->broadcast(ChatEvents::channel(result.room_id), "audio_transcription",
                       json::array{std::move(event)});
    return;
  }
  // Each utterance counts against the speaker's day, rounded up to whole seconds. Past the
  // limit the utterance is not kept and the stream ends (we are on a speech thread: blocking
  // storage is fine here).
  if (deps_.quotas != nullptr) {
    const std::int64_t seconds = (result.end_ms - result.start_ms + 999) / 1000;
    if (auto counted =
            deps_.quotas->consume(result.user_id, core::Metered::speech_seconds, seconds);
        !counted) {
      // Past the limit: the utterance is neither shown nor kept, the rest of the day counts as
      // used (so the stream cannot simply be opened again), and the stream ends.
      deps_.quotas->use_up(result.user_id, core::Metered::speech_seconds);
      if (streams_ != nullptr) (void)streams_->stop(result.key);
      return on_stream_error(result.key, result.room_id, counted.error());
    }
  }
  // The speaker's tracker labels the utterance (and may have it heard again): after the quota,
  // so that an utterance past it costs nothing more.
  if (tracked && deps_.speakers != nullptr) {
    track(result, listening);  // on the stream's strand: blocking is allowed here
    event["text"] = result.text;
    event["language"] = result.language;
    event["engine"] = result.engine;
  }
  // A final result becomes a message, with its recording kept.
  const std::string file = core::random_hex(16) + ".wav";
  if (auto written = core::write_file_atomically(deps_.audio_folder, file,
                                                 speech::audio::encode_wav(*result.audio));
      !written) {
    deps_.log.error("speech_audio_not_stored", {{"error", written.error().message}});
    return on_stream_error(result.key, result.room_id, written.error());
  }
  auto stored = deps_.chatrooms.post_message(result.room_id, result.user_id, result.text,
                                             chat::MessageKind::speech, result.language,
                                             std::nullopt, file, spoken_timing(result));
  if (!stored) {
    core::remove_stored_file(deps_.audio_folder, file);
    server_->broadcast(ChatEvents::channel(result.room_id), "audio_transcription",
                       json::array{std::move(event)});
    return on_stream_error(result.key, result.room_id, stored.error());
  }
  event["message_id"] = stored->id;
  if (deps_.caption_lag != nullptr) {
    deps_.caption_lag->spoken(stored->id, result.room_id, result.ended_at);
  }
  server_->broadcast(ChatEvents::channel(result.room_id), "audio_transcription",
                     json::array{std::move(event)});
  // Delivered like every message: per listener language, translations queued, spoken.
  deps_.chatrooms.announce_message(*stored);
}

void SpeechEvents::on_stream_error(const speech::StreamKey& key, std::int64_t room_id,
                                   const Error& error) {
  deps_.log.info("speech_stream_error", {{"socket", key.connection_id},
                                         {"stream", key.stream_id},
                                         {"code", to_code(error.code)},
                                         {"error", error.message}});
  emit_to_speaker(
      key, "audio_error",
      json::object{{"room", room_id}, {"stream_id", key.stream_id}, {"error", error_json(error)}});
}

void SpeechEvents::on_stream_closed(const speech::StreamKey& key, std::int64_t room_id) {
  emit_to_speaker(key, "audio_stream_closed",
                  json::object{{"room", room_id}, {"stream_id", key.stream_id}});
  std::lock_guard lock(mutex_);
  speakers_.erase(key);
}

void SpeechEvents::emit_to_speaker(const speech::StreamKey& key, std::string_view event,
                                   const json::object& payload) {
  if (server_ == nullptr) return;
  std::int64_t user_id = 0;
  {
    std::lock_guard lock(mutex_);
    auto it = speakers_.find(key);
    if (it == speakers_.end()) return;
    user_id = it->second.user_id;
  }
  for (const auto& socket : server_->sockets_of(user_id)) {
    if (socket->id() == key.connection_id) socket->emit(event, json::array{payload});
  }
}

}  // namespace parley::events
