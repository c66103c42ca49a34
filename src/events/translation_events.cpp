#include "events/translation_events.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>

#include "events/chat_events.hpp"
#include "events/event_errors.hpp"
#include "events/speech_events.hpp"

namespace parley::events {

namespace asio = boost::asio;
namespace json = boost::json;
using realtime::AckReply;
using realtime::SocketPtr;
using translate::listener_language;

namespace {

std::optional<std::string> string_field(const json::object& body, std::string_view name) {
  const auto* value = body.if_contains(name);
  if (value == nullptr || !value->is_string()) return std::nullopt;
  return std::string(value->as_string());
}

// A positive id given as a number or a numeric string.
std::optional<std::int64_t> id_field(const json::object& body, std::string_view name) {
  const auto* value = body.if_contains(name);
  if (value == nullptr) return std::nullopt;
  if (value->is_int64() && value->as_int64() > 0) return value->as_int64();
  if (value->is_string()) {
    std::string_view text = value->as_string();
    std::int64_t id = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec == std::errc() && ptr == text.data() + text.size() && id > 0) return id;
  }
  return std::nullopt;
}

// A language field: absent (nullopt), or a tag normalised to its primary subtag.
Result<std::optional<std::string>> language_field(const json::object& body,
                                                  std::initializer_list<std::string_view> names) {
  for (auto name : names) {
    const auto* value = body.if_contains(name);
    if (value == nullptr || value->is_null()) continue;
    const std::string code =
        value->is_string() ? translate::normalize_language_tag(value->as_string()) : "";
    if (code.empty()) {
      return fail(Errc::validation_failed,
                  "field '" + std::string(name) + "' must be a language code such as es or pt-BR");
    }
    return std::optional<std::string>(code);
  }
  return std::optional<std::string>();
}

json::object message_result(std::int64_t room_id, std::int64_t message_id,
                            const translate::Translation& translation) {
  json::object payload = translate::to_json(translation);
  payload["room"] = room_id;
  payload["message_id"] = message_id;
  return payload;
}

}  // namespace

// --- listeners -----------------------------------------------------------------------------------

void TranslationEvents::set_listener(const realtime::Socket& socket, std::int64_t room_id,
                                     std::string language) {
  std::lock_guard lock(registry_mutex_);
  // The socket is marked closed before forget() runs, and forget() takes this lock.
  if (socket.closed()) return;
  auto [it, added] = languages_[socket.id()].try_emplace(room_id);
  if (!added) uncount_listener_locked(room_id, it->second);
  it->second = listener_language(language);
  count_listener_locked(room_id, it->second);
}

void TranslationEvents::count_listener_locked(std::int64_t room_id, const std::string& language) {
  ++room_languages_[room_id][language];
}

void TranslationEvents::uncount_listener_locked(std::int64_t room_id, const std::string& language) {
  auto room = room_languages_.find(room_id);
  if (room == room_languages_.end()) return;
  auto count = room->second.find(language);
  if (count == room->second.end()) return;
  if (--count->second == 0) room->second.erase(count);
  if (room->second.empty()) room_languages_.erase(room);
}

std::set<std::string> TranslationEvents::online_languages(std::int64_t room_id) const {
  std::set<std::string> out;
  std::lock_guard lock(registry_mutex_);
  auto room = room_languages_.find(room_id);
  if (room == room_languages_.end()) return out;
  for (const auto& [language, count] : room->second) {
    if (!language.empty()) out.insert(language);
  }
  return out;
}

std::string TranslationEvents::language_of(const std::string& socket_id,
                                           std::int64_t room_id) const {
  std::lock_guard lock(registry_mutex_);
  auto socket = languages_.find(socket_id);
  if (socket == languages_.end()) return {};
  auto room = socket->second.find(room_id);
  return room == socket->second.end() ? std::string() : room->second;
}

Result<json::array> TranslationEvents::join(const SocketPtr& socket, std::int64_t room_id,
                                            const std::string& language,
                                            std::optional<std::int64_t> after_seq) {
  const std::string listening = listener_language(language);
  std::lock_guard lock(room_lock(room_id));
  // Known before the socket is in the channel (a delivery must find its language), and taken
  // back if it cannot join (a socket that went away meanwhile leaves nothing behind).
  set_listener(*socket, room_id, listening);
  if (auto joined = server_->join(socket, ChatEvents::channel(room_id)); !joined) {
    left(*socket, room_id);
    return joined.error();
  }
  json::array missed;
  if (!after_seq) return missed;
  auto messages = deps_.chatrooms.messages_after(room_id, *after_seq, chat::kMaxRecoveryBatch);
  if (!messages) return messages.error();
  std::vector<std::int64_t> ids;
  for (const auto& message : *messages) ids.push_back(message.id);
  auto settled = deps_.translator.settled(ids, listening);
  if (!settled) return settled.error();
  std::map<std::int64_t, const translate::Translation*> by_message;
  for (const auto& item : *settled) by_message[item.message_id] = &item.translation;
  for (const auto& message : *messages) {
    auto shaped = chat::to_json(message, deps_.public_base_url);
    if (auto it = by_message.find(message.id); it != by_message.end()) {
      shaped["translation"] = translate::to_json(*it->second);
    }
    missed.push_back(std::move(shaped));
  }
  return missed;
}

void TranslationEvents::left(const realtime::Socket& socket, std::int64_t room_id) {
  std::lock_guard lock(registry_mutex_);
  auto it = languages_.find(socket.id());
  if (it == languages_.end()) return;
  if (auto room = it->second.find(room_id); room != it->second.end()) {
    uncount_listener_locked(room_id, room->second);
    it->second.erase(room);
  }
  if (it->second.empty()) languages_.erase(it);
}

void TranslationEvents::forget(const realtime::Socket& socket) {
  std::lock_guard lock(registry_mutex_);
  if (auto it = languages_.find(socket.id()); it != languages_.end()) {
    for (const auto& [room_id, language] : it->second) uncount_listener_locked(room_id, language);
    languages_.erase(it);
  }
  for (auto it = requesters_.begin(); it != requesters_.end();) {
    it->second.erase(socket.id());
    it = it->second.empty() ? requesters_.erase(it) : std::next(it);
  }
}

void TranslationEvents::refresh_languages(const SocketPtr& socket) {
  std::vector<std::int64_t> rooms;
  for (const auto& name : socket->rooms()) {
    if (name.starts_with("room:")) rooms.push_back(std::stoll(name.substr(5)));
  }
  if (rooms.empty()) return;
  auto job = [this, socket, rooms]() -> Result<void> {
    for (auto room : rooms) {
      auto language = deps_.chatrooms.listening_language(room, socket->user_id());
      if (!language) continue;
      std::lock_guard lock(room_lock(room));
      // Still in the room (it may have left while this ran).
      if (socket->rooms().count(ChatEvents::channel(room)) != 0) {
        set_listener(*socket, room, *language);
      }
    }
    return {};
  };
  deps_.workers.post(std::move(job));
}

// --- messages ------------------------------------------------------------------------------------

namespace {
// Corrections remembered to drop stale translations (oldest forgotten first).
constexpr std::size_t kMaxRememberedCorrections = 4096;
}  // namespace

std::string TranslationEvents::language_of_text(std::string_view text,
                                                const std::optional<std::string>& declared,
                                                std::int64_t user_id, const std::string& socket_id,
                                                std::int64_t room_id) {
  if (declared) return deps_.translator.detect(text, *declared);
  const std::string listening = language_of(socket_id, room_id);
  if (deps_.speakers.spoken(user_id).empty()) return deps_.translator.detect(text, listening);
  return deps_.speakers.label(user_id, room_id, listening,
                              deps_.translator.engines().detector().detect(text));
}

Result<std::set<std::string>> TranslationEvents::member_languages(
    std::int64_t room_id, std::optional<std::int64_t> members_version) {
  auto members = members_version ? deps_.chatrooms.listening_languages(room_id, *members_version)
                                 : deps_.chatrooms.listening_languages(room_id);
  if (!members) return members.error();
  std::set<std::string> languages;
  for (const auto& language : *members) languages.insert(listener_language(language));
  return languages;
}

void TranslationEvents::deliver(const chat::StoredMessage& message, std::string_view request_id,
                                std::string_view event, std::optional<std::int64_t> payer,
                                std::optional<std::set<std::string>> members) {
  const bool update = event != "new_message";
  const std::string channel = ChatEvents::channel(message.room_id);
  std::string source = listener_language(message.language.value_or(""));
  if (source.empty()) source = deps_.translator.detect(message.text, {});
  // The languages listening now, and what can be said about each without waiting.
  std::set<std::string> online = online_languages(message.room_id);
  const auto preview = deps_.translator.preview(message.text, source, online, message.room_id);
  // The original is built inside the array that readers without a variant get, not copied
  // into it; each language's variant copies it once.
  json::array plain;
  plain.emplace_back(chat::to_json(message, deps_.public_base_url));
  const json::object& original = plain.front().as_object();
  std::map<std::string, json::array> shaped;
  std::set<std::string> announced;
  for (const auto& [language, item] : preview) {
    json::object variant = original;
    switch (item.state) {
      case translate::TargetPreview::State::ready: {
        translate::Translation translation = *item.translation;
        translation.source = source;
        translation.target = language;
        variant["translation"] = translate::to_json(translation);
        announced.insert(language);
        break;
      }
      case translate::TargetPreview::State::pending:
        variant["translation_pending"] = true;
        break;
      case translate::TargetPreview::State::refused:
        variant["translation_error"] = json::object{{"language", language},
                                                    {"code", to_code(item.error->code)},
                                                    {"message", item.error->message}};
        break;
    }
    shaped.emplace(language, json::array{std::move(variant)});
  }
  // A connection that is away and recovers later gets the original (its translation can be
  // asked for again). Other processes pick each of their sockets' variant the same way.
  realtime::KeyedArguments keyed;
  keyed.variants = std::move(shaped);
  keyed.fallback = &plain;
  keyed.for_recovery = &plain;
  server_->broadcast_keyed(channel, std::string(event), keyed);
  if (deps_.caption_lag != nullptr && !update) {
    // Its own language and the cached translations went out with it; the rest follow.
    // Languages no engine serves get no caption: they are not waited for.
    std::set<std::string> captioned = announced;
    captioned.insert(source);
    std::set<std::string> listening;
    for (const auto& language : online) {
      auto it = preview.find(language);
      if (it == preview.end() || it->second.state != translate::TargetPreview::State::refused) {
        listening.insert(language);
      }
    }
    deps_.caption_lag->delivered(message.id, listening, captioned);
  }
  if (speech_ != nullptr && !update) {
    speech_->message_delivered(message);
    // Translations that went out with the message are spoken now too.
    for (const auto& [language, item] : preview) {
      if (item.state != translate::TargetPreview::State::ready) continue;
      translate::Translation translation = *item.translation;
      translation.source = source;
      translation.target = language;
      speech_->translation_delivered(message.id, translation);
    }
  }
  if (source == "und") return;  // nothing to translate from
  queue_translations(message, std::move(source), std::move(online), std::move(announced),
                     std::string(request_id), payer, std::move(members));
}

void TranslationEvents::queue_translations(chat::StoredMessage message, std::string source,
                                           std::set<std::string> online,
                                           std::set<std::string> announced, std::string request_id,
                                           std::optional<std::int64_t> payer_override,
                                           std::optional<std::set<std::string>> members) {
  if (members) {
    const bool only_its_own =
        std::all_of(online.begin(), online.end(),
                    [&](const auto& language) { return language == source; }) &&
        std::all_of(members->begin(), members->end(),
                    [&](const auto& language) { return language == source; });
    if (only_its_own) return;  // nobody reads it in another language: nothing to translate
  }
  auto job = [this, message = std::move(message), source = std::move(source),
              online = std::move(online), announced = std::move(announced),
              request_id = std::move(request_id), payer_override,
              members = std::move(members)]() -> Result<void> {
    // Members who are not online read it later in the history: translate for them too.
    std::set<std::string> targets = online;
    if (!members) {
      auto read = member_languages(message.room_id);
      if (!read) return read.error();
      targets.insert(read->begin(), read->end());
    } else {
      targets.insert(members->begin(), members->end());
    }
    // The sender's plan pays for the translations of their message (a correction's, whoever
    // made it).
    const auto payer = payer_override   ? payer_override
                       : message.sender ? std::optional<std::int64_t>(message.sender->id)
                                        : std::nullopt;
    auto queued = deps_.translator.translate_message({message.id, message.room_id}, message.text,
                                                     source, targets, announced, payer, request_id);
    if (!queued) {
      deps_.log.error("translation_not_queued", {{"message_id", message.id},
                                                 {"request_id", request_id},
                                                 {"code", to_code(queued.error().code)},
                                                 {"error", queued.error().message}});
    }
    return queued;
  };
  deps_.workers.post(std::move(job));
}

// --- deliveries (queue workers) ------------------------------------------------------------------

void TranslationEvents::send_result(std::int64_t room_id, std::int64_t message_id,
                                    const std::string& language, const json::object& payload) {
  std::map<std::string, std::weak_ptr<realtime::Socket>> asked;
  {
    std::lock_guard lock(registry_mutex_);
    if (auto it = requesters_.find({message_id, language}); it != requesters_.end()) {
      asked = std::move(it->second);
      requesters_.erase(it);
    }
  }
  const json::array args{payload};
  std::set<std::string> reached;
  server_->broadcast_each(
      ChatEvents::channel(room_id), "translation_result", [&](const realtime::Socket& socket) {
        const bool wanted =
            asked.count(socket.id()) != 0 || language_of(socket.id(), room_id) == language;
        if (!wanted) return static_cast<const json::array*>(nullptr);
        reached.insert(socket.id());
        return &args;
      });
  for (const auto& [id, weak] : asked) {
    if (reached.count(id) != 0) continue;
    if (auto socket = weak.lock()) socket->emit("translation_result", args);
  }
}

void TranslationEvents::translation_ready(const translate::MessageRef& message,
                                          const translate::Translation& translation,
                                          const std::function<void()>& settle) {
  {
    std::lock_guard lock(room_lock(message.room_id));
    if (is_stale(message.message_id, translation.source)) return;
    if (server_ != nullptr) {
      auto payload = message_result(message.room_id, message.message_id, translation);
      send_result(message.room_id, message.message_id, translation.target, payload);
      if (deps_.caption_lag != nullptr) {
        deps_.caption_lag->captioned(message.message_id, translation.target);
      }
      settle();
      relay_result(message.room_id, message.message_id, translation.target, payload);
    } else {
      settle();
    }
  }
  if (speech_ != nullptr) speech_->translation_delivered(message.message_id, translation);
}

void TranslationEvents::translation_failed(const translate::MessageRef& message,
                                           std::string_view target, const Error& error) {
  std::lock_guard lock(room_lock(message.room_id));
  if (server_ == nullptr) return;
  const json::object payload{{"room", message.room_id},
                             {"message_id", message.message_id},
                             {"language", target},
                             {"error", error_json(error)}};
  send_result(message.room_id, message.message_id, std::string(target), payload);
  relay_result(message.room_id, message.message_id, std::string(target), payload);
}

// --- corrections ---------------------------------------------------------------------------------

bool TranslationEvents::is_stale(std::int64_t message_id, std::string_view source) const {
  std::lock_guard lock(corrections_mutex_);
  auto it = corrected_sources_.find(message_id);
  return it != corrected_sources_.end() && translate::normalize_language_tag(source) != it->second;
}

void TranslationEvents::message_corrected(const chat::StoredMessage& message, std::int64_t actor_id,
                                          std::string_view request_id) {
  // One correction at a time per room, against the message as stored now: of two corrections
  // that race, the room ends with the later one, and no result from an older language that
  // waits on this lock can follow the update.
  std::lock_guard lock(room_lock(message.room_id));
  auto latest = deps_.chatrooms.find_message(message.id);
  if (!latest) return;  // deleted meanwhile
  if (latest->corrected && message.corrected && latest->corrected->at > message.corrected->at) {
    return;  // a later correction is (or was) told
  }
  const std::string source = listener_language(latest->language.value_or(""));
  {
    std::lock_guard corrections(corrections_mutex_);
    if (corrected_sources_.insert_or_assign(latest->id, source).second) {
      corrected_order_.push_back(latest->id);
    }
    while (corrected_order_.size() > kMaxRememberedCorrections) {
      corrected_sources_.erase(corrected_order_.front());
      corrected_order_.pop_front();
    }
  }
  // A person said what the speaker speaks now: their tracker in the room follows at once.
  if (latest->sender) deps_.speakers.corrected(latest->sender->id, latest->room_id, source);
  if (server_ != nullptr) deliver(*latest, request_id, "message_updated", actor_id);
}

asio::awaitable<void> TranslationEvents::mark_language(SocketPtr socket, json::array args,
                                                       AckReply ack) {
  const auto refuse = [&](const Error& error) {
    socket->emit("room_error", json::array{json::object{{"error", error_json(error)}}});
    if (ack) ack(json::array{json::object{{"error", error_json(error)}}});
  };
  if (corrections_ == nullptr) {
    co_return refuse(fail(Errc::unavailable, "corrections are not enabled on this server"));
  }
  if (args.empty() || !args[0].is_object()) {
    co_return refuse(
        fail(Errc::validation_failed, "expected {\"message_id\": <id>, \"language\": \"es\"}"));
  }
  const auto& body = args[0].as_object();
  const auto message_id = id_field(body, "message_id");
  if (!message_id)
    co_return refuse(fail(Errc::validation_failed, "field 'message_id' is required"));
  auto language = language_field(body, {"language"});
  if (!language) co_return refuse(language.error());
  if (!*language) co_return refuse(fail(Errc::validation_failed, "field 'language' is required"));
  corrections::CorrectionRequest request;
  request.message_id = *message_id;
  request.actor_id = socket->user_id();
  request.language = std::move(**language);
  request.request_id = socket->event_id();
  auto job = [this, request = std::move(request)]() -> Result<chat::StoredMessage> {
    return corrections_->correct(request);
  };
  auto corrected = co_await deps_.workers.run(std::move(job));
  if (!corrected) co_return refuse(corrected.error());
  if (ack) {
    ack(json::array{json::object{{"message", chat::to_json(*corrected, deps_.public_base_url)}}});
  }
}

// --- several processes ---------------------------------------------------------------------------

void TranslationEvents::attach(realtime::SocketIoServer& server, SpeechEvents* speech) {
  server_ = &server;
  speech_ = speech;
  // A keyed broadcast (new_message) picks a socket's variant by its language in the room.
  server.set_variant_key([this](const realtime::Socket& socket, const std::string& room) {
    std::int64_t room_id = 0;
    const std::string_view digits = std::string_view(room).substr(room.find(':') + 1);
    if (std::from_chars(digits.data(), digits.data() + digits.size(), room_id).ec != std::errc()) {
      return std::string();
    }
    return language_of(socket.id(), room_id);
  });
}

void TranslationEvents::attach_bus(core::ClusterBus& bus) {
  bus_ = &bus;
  bus.subscribe("translation", [this](std::string_view payload) { on_relayed_result(payload); });
}

void TranslationEvents::relay_result(std::int64_t room_id, std::int64_t message_id,
                                     const std::string& language, const json::object& payload) {
  if (bus_ == nullptr) return;
  bus_->publish("translation", json::serialize(json::object{{"room", room_id},
                                                            {"message_id", message_id},
                                                            {"language", language},
                                                            {"payload", payload}}));
}

void TranslationEvents::on_relayed_result(std::string_view text) {
  boost::system::error_code ec;
  auto parsed = json::parse(text, ec);
  const auto* relayed = parsed.if_object();
  const json::value* room = relayed ? relayed->if_contains("room") : nullptr;
  const json::value* message = relayed ? relayed->if_contains("message_id") : nullptr;
  const json::value* language = relayed ? relayed->if_contains("language") : nullptr;
  const json::value* payload = relayed ? relayed->if_contains("payload") : nullptr;
  if (ec || room == nullptr || !room->is_int64() || message == nullptr || !message->is_int64() ||
      language == nullptr || !language->is_string() || payload == nullptr ||
      !payload->is_object() || server_ == nullptr) {
    deps_.log.warning("relayed_translation_invalid", {{"bytes", text.size()}});
    return;
  }
  // Off the bus's thread: the room lock may be held across database work (a catch-up).
  auto job = [this, room_id = room->as_int64(), message_id = message->as_int64(),
              target = std::string(language->as_string()),
              result = payload->as_object()]() -> Result<void> {
    std::lock_guard lock(room_lock(room_id));
    send_result(room_id, message_id, target, result);
    if (deps_.caption_lag != nullptr && !result.contains("error")) {
      deps_.caption_lag->captioned(message_id, target);
    }
    return {};
  };
  deps_.workers.post(std::move(job));
}

// --- socket events -------------------------------------------------------------------------------

asio::awaitable<void> TranslationEvents::request_translation(SocketPtr socket, json::array args,
                                                             AckReply ack) {
  const auto refuse = [&](const Error& error, json::object context = {}) {
    context["error"] = error_json(error);
    socket->emit("translation_result", json::array{context});
    if (ack) ack(json::array{json::object{{"error", error_json(error)}}});
  };
  if (args.empty() || !args[0].is_object()) {
    co_return refuse(fail(Errc::validation_failed,
                          "expected {\"message_id\": <id>} or {\"text\": ..., "
                          "\"target_language\": ...}"));
  }
  const auto& body = args[0].as_object();
  auto target = language_field(body, {"target_language", "target", "language"});
  if (!target) co_return refuse(target.error());
  auto source = language_field(body, {"source_language", "source"});
  if (!source) co_return refuse(source.error());

  if (const auto message_id = id_field(body, "message_id")) {
    auto job = [this, socket, message_id = *message_id, target = *target,
                request_id = socket->event_id()]() -> Result<json::object> {
      auto message = deps_.chatrooms.message(message_id, socket->user_id());
      if (!message) return message.error();
      std::string language = target.value_or(language_of(socket->id(), message->room_id));
      if (language.empty()) {
        auto listening = deps_.chatrooms.listening_language(message->room_id, socket->user_id());
        if (!listening) return listening.error();
        language = listener_language(*listening);
      }
      std::string from = listener_language(message->language.value_or(""));
      if (from.empty()) from = deps_.translator.detect(message->text, {});
      std::lock_guard lock(room_lock(message->room_id));
      auto outcome = deps_.translator.request({message->id, message->room_id}, message->text, from,
                                              language, socket->user_id(), request_id);
      if (!outcome) return outcome.error();
      if (outcome->settled) {
        socket->emit("translation_result",
                     json::array{message_result(message->room_id, message->id,
                                                outcome->settled->translation)});
        return json::object{
            {"status", "delivered"}, {"message_id", message->id}, {"language", language}};
      }
      {
        std::lock_guard registry(registry_mutex_);
        requesters_[{message->id, language}][socket->id()] = socket;
      }
      return json::object{
          {"status", "pending"}, {"message_id", message->id}, {"language", language}};
    };
    auto done = co_await deps_.workers.run(std::move(job));
    if (!done) co_return refuse(done.error(), json::object{{"message_id", *message_id}});
    if (ack) ack(json::array{*done});
    co_return;
  }

  const auto text = string_field(body, "text");
  if (!text || text->empty()) {
    co_return refuse(fail(Errc::validation_failed, "give 'message_id', or 'text' to translate"));
  }
  if (text->size() > translate::kMaxTranslationBytes) {
    co_return refuse(fail(Errc::validation_failed, "the text is too long to translate"));
  }
  if (!*target)
    co_return refuse(fail(Errc::validation_failed, "field 'target_language' is required"));
  json::value request_id = nullptr;
  if (const auto* id = body.if_contains("request_id"); id != nullptr) {
    if (!(id->is_string() && id->as_string().size() <= 64) && !id->is_int64()) {
      co_return refuse(fail(Errc::validation_failed, "field 'request_id' must be a short string"));
    }
    request_id = *id;
  }
  auto job = [this, text = *text, from = *source, to = **target,
              payer = socket->user_id()]() -> Result<translate::Translation> {
    const std::string language = from ? *from : deps_.translator.detect(text, {});
    if (language == "und") {
      return fail(Errc::validation_failed,
                  "the language of the text could not be detected; give 'source_language'");
    }
    if (language == to) return fail(Errc::validation_failed, "the text is already in '" + to + "'");
    return deps_.translator.translate_text(text, language, to, payer);
  };
  auto done = co_await deps_.workers.run(std::move(job));
  if (!done) co_return refuse(done.error(), json::object{{"request_id", request_id}});
  json::object payload = translate::to_json(*done);
  payload["request_id"] = request_id;
  socket->emit("translation_result", json::array{payload});
  if (ack) ack(json::array{json::object{{"status", "delivered"}, {"request_id", request_id}}});
}

asio::awaitable<void> TranslationEvents::set_language(SocketPtr socket, json::array args,
                                                      AckReply ack) {
  const auto refuse = [&](const Error& error) {
    socket->emit("room_error", json::array{json::object{{"error", error_json(error)}}});
    if (ack) ack(json::array{json::object{{"error", error_json(error)}}});
  };
  if (args.empty() || !args[0].is_object()) {
    co_return refuse(fail(Errc::validation_failed, "expected {\"room\": <id>, \"language\": ...}"));
  }
  const auto& body = args[0].as_object();
  const auto room = id_field(body, "room");
  if (!room) co_return refuse(fail(Errc::validation_failed, "field 'room' is required"));
  if (!body.contains("language")) {
    co_return refuse(fail(Errc::validation_failed, "field 'language' is required (null: reset)"));
  }
  auto language = language_field(body, {"language"});
  if (!language) co_return refuse(language.error());
  auto job = [this, socket, room_id = *room, language = *language]() -> Result<std::string> {
    auto effective = deps_.chatrooms.set_listening_language(room_id, socket->user_id(), language);
    if (!effective) return effective.error();
    std::lock_guard lock(room_lock(room_id));
    if (!language_of(socket->id(), room_id).empty()) set_listener(*socket, room_id, *effective);
    return listener_language(*effective);
  };
  auto done = co_await deps_.workers.run(std::move(job));
  if (!done) co_return refuse(done.error());
  if (ack) ack(json::array{json::object{{"room", *room}, {"language", *done}}});
}

}  // namespace parley::events
