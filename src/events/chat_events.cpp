#include "events/chat_events.hpp"

#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <set>

#include "events/event_errors.hpp"
#include "events/speaker_languages.hpp"
#include "events/speech_events.hpp"
#include "events/translation_events.hpp"

namespace parley::events {

namespace asio = boost::asio;
namespace json = boost::json;
using realtime::AckReply;
using realtime::SocketPtr;

namespace {

// Rate of typing indicators per connection: they are cheap but fan out to a whole room.
const core::RateLimit kTypingLimit{5, std::chrono::seconds(1), 5};

// `{"room": 12}` or `{"room": "12"}` -> 12.
Result<std::int64_t> room_of(const json::array& args) {
  const auto invalid = [] {
    return fail(Errc::validation_failed, "expected {\"room\": <chatroom id>}");
  };
  if (args.empty() || !args[0].is_object()) return invalid();
  const auto* room = args[0].as_object().if_contains("room");
  if (room == nullptr) return invalid();
  if (room->is_int64() && room->as_int64() > 0) return room->as_int64();
  if (room->is_string()) {
    std::string_view text = room->as_string();
    std::int64_t id = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec == std::errc() && ptr == text.data() + text.size() && id > 0) return id;
  }
  return invalid();
}

// An optional language field: absent or null (nullopt), else a tag such as "es" or "pt-BR".
Result<std::optional<std::string>> language_of(const json::object& body) {
  const auto* value = body.if_contains("language");
  if (value == nullptr || value->is_null()) return std::optional<std::string>();
  if (!value->is_string() || value->as_string().empty() || value->as_string().size() > 35) {
    return fail(Errc::validation_failed, "field 'language' must be a language tag such as es");
  }
  return std::optional<std::string>(std::string(value->as_string()));
}

// The CONNECT auth payload's access token ({"token": "..."}), or empty.
std::string_view token_of(const json::value& auth) {
  if (!auth.is_object()) return {};
  const auto* value = auth.as_object().if_contains("token");
  return value != nullptr && value->is_string() ? std::string_view(value->as_string())
                                                : std::string_view();
}

}  // namespace

std::optional<Result<std::int64_t>> ChatEvents::authenticate_at_once(const json::value& auth) {
  const std::string_view token = token_of(auth);
  if (token.empty())
    return Result<std::int64_t>(fail(Errc::unauthorized, "authentication required"));
  // A session checked moments ago (reconnects, several tabs, a client's REST calls just before)
  // is known without the database, and the network thread answers at once.
  auto known = deps_.accounts.authenticate_cached(token);
  if (!known) return std::nullopt;
  if (!*known) return Result<std::int64_t>(fail(Errc::unauthorized, "invalid or expired token"));
  return Result<std::int64_t>((*known)->user_id);
}

asio::awaitable<Result<std::int64_t>> ChatEvents::authenticate(json::value auth) {
  if (auto known = authenticate_at_once(auth)) co_return std::move(*known);
  std::string token(token_of(auth));
  auto job = [&accounts = deps_.accounts, token]() -> Result<std::int64_t> {
    auto principal = accounts.authenticate(token);
    if (!principal) return principal.error();
    return principal->user_id;
  };
  auto user = co_await deps_.workers.run(std::move(job));
  if (!user) co_return fail(Errc::unauthorized, "invalid or expired token");
  co_return *user;
}

void ChatEvents::on_connect(const SocketPtr& socket, const json::value&) {
  if (deps_.log.enabled(core::LogLevel::debug)) {
    deps_.log.debug("socket_connected", {{"socket", socket->id()}, {"user_id", socket->user_id()}});
  }
}

asio::awaitable<void> ChatEvents::on_event(SocketPtr socket, std::string name, json::array args,
                                           realtime::Attachments attachments, AckReply ack) {
  if (deps_.log.enabled(core::LogLevel::debug)) {
    deps_.log.debug(
        "socket_event",
        {{"request_id", socket->event_id()}, {"user_id", socket->user_id()}, {"name", name}});
  }
  if (name == "audio_stream") {
    if (speech_ == nullptr) {
      co_return refuse(socket, ack, std::nullopt,
                       fail(Errc::unavailable, "speech is not enabled on this server"));
    }
    co_return co_await speech_->audio_stream(socket, std::move(args), std::move(attachments),
                                             std::move(ack));
  }
  // No chat event takes binary arguments (audio arrives through its own event).
  if (!attachments.empty()) {
    co_return refuse(
        socket, ack, std::nullopt,
        fail(Errc::validation_failed, "event '" + name + "' does not take binary arguments"));
  }
  if (name == "join_room") co_return co_await join_room(socket, std::move(args), std::move(ack));
  if (name == "leave_room") co_return co_await leave_room(socket, std::move(args), std::move(ack));
  if (name == "send_message") {
    co_return co_await send_message(socket, std::move(args), std::move(ack));
  }
  if (name == "set_voice_mode") {
    if (speech_ == nullptr) {
      co_return refuse(socket, ack, std::nullopt,
                       fail(Errc::unavailable, "speech is not enabled on this server"));
    }
    co_return co_await speech_->set_voice_mode(socket, std::move(args), std::move(ack));
  }
  if (name == "tts_preferences") {
    if (speech_ == nullptr) {
      co_return refuse(socket, ack, std::nullopt,
                       fail(Errc::unavailable, "speech is not enabled on this server"));
    }
    co_return co_await speech_->tts_preferences(socket, std::move(args), std::move(ack));
  }
  if (name == "typing") {
    typing(socket, args);
    co_return;
  }
  if (name == "request_translation" || name == "set_language" || name == "mark_language") {
    if (translations_ == nullptr) {
      co_return refuse(socket, ack, std::nullopt,
                       fail(Errc::unavailable, "translation is not enabled on this server"));
    }
    if (name == "set_language") {
      co_return co_await translations_->set_language(socket, std::move(args), std::move(ack));
    }
    if (name == "mark_language") {
      co_return co_await translations_->mark_language(socket, std::move(args), std::move(ack));
    }
    co_return co_await translations_->request_translation(socket, std::move(args), std::move(ack));
  }
  refuse(socket, ack, std::nullopt, fail(Errc::not_found, "unknown event '" + name + "'"));
}

void ChatEvents::refuse(const SocketPtr& socket, const AckReply& ack,
                        std::optional<std::int64_t> room, const Error& error) {
  json::object body{{"error", error_json(error)}};
  if (room) body["room"] = *room;
  // A refusal the client caused is routine; one the server caused is worth a line that the
  // event's request id ties to the rest.
  if (error.code == Errc::internal || error.code == Errc::unavailable ||
      error.code == Errc::timeout) {
    deps_.log.warning("socket_event_refused", {{"request_id", socket->event_id()},
                                               {"code", to_code(error.code)},
                                               {"error", error.message}});
  }
  socket->emit("room_error", json::array{body});
  if (ack) ack(json::array{json::object{{"error", error_json(error)}}});
}

asio::awaitable<void> ChatEvents::join_room(SocketPtr socket, json::array args, AckReply ack) {
  auto room = room_of(args);
  if (!room) co_return refuse(socket, ack, std::nullopt, room.error());
  const auto& body = args[0].as_object();
  const bool language_given = body.contains("language");
  auto language = language_of(body);
  if (!language) co_return refuse(socket, ack, *room, language.error());
  std::optional<std::int64_t> after_seq;
  if (const auto* after = body.if_contains("after_seq"); after != nullptr && !after->is_null()) {
    if (!after->is_int64() || after->as_int64() < 0) {
      co_return refuse(socket, ack, *room,
                       fail(Errc::validation_failed, "field 'after_seq' must be a message seq"));
    }
    after_seq = after->as_int64();
  }
  struct Joined {
    json::object user;
    std::string language;
    json::array missed;
    chat::ListeningChoice listening;
  };
  auto job = [&deps = deps_, translations = translations_, socket, room_id = *room, language_given,
              language = *language, after_seq]() -> Result<Joined> {
    const auto user_id = socket->user_id();
    if (!deps.chatrooms.can_join_channel(room_id, user_id)) {
      return fail(Errc::forbidden, "join the chat room first (or you are banned)");
    }
    auto user = deps.accounts.profile(auth::Principal{user_id, {}, false});
    if (!user) return user.error();
    auto public_user = auth::to_json(*user, false, deps.public_base_url);
    Joined joined;
    joined.user = json::object{{"id", public_user["id"]},
                               {"username", public_user["username"]},
                               {"avatar_url", public_user["avatar_url"]}};
    auto listening = language_given
                         ? deps.chatrooms.set_listening_language(room_id, user_id, language)
                         : deps.chatrooms.listening_language(room_id, user_id);
    if (!listening) return listening.error();
    joined.language = *listening;
    auto choice = deps.chatrooms.listening_choice(room_id, user_id);
    if (!choice) return choice.error();
    joined.listening = *choice;
    if (translations != nullptr) {
      // Joins the channel under the room's delivery lock (see TranslationEvents).
      auto missed = translations->join(socket, room_id, *listening, after_seq);
      if (!missed) return missed.error();
      joined.missed = std::move(*missed);
    }
    return joined;
  };
  auto joined = co_await deps_.workers.run(std::move(job));
  if (!joined) co_return refuse(socket, ack, *room, joined.error());
  if (translations_ == nullptr) {
    if (auto in = server_->join(socket, channel(*room)); !in) {
      co_return refuse(socket, ack, *room, in.error());
    }
  }
  socket->data()["user"] = joined->user;
  if (speech_ != nullptr) speech_->room_joined(*socket, *room, joined->listening);
  entered(socket, *room);
  server_->broadcast(channel(*room), "user_joined",
                     json::array{json::object{{"room", *room}, {"user", joined->user}}},
                     socket.get());
  if (ack) {
    json::array online;
    if (presence_ != nullptr) {
      auto ask = [this, room_id = *room]() -> Result<json::array> { return online_in(room_id); };
      auto answer = co_await deps_.workers.run(std::move(ask));
      if (answer) online = std::move(*answer);
    } else {
      online = online_in(*room);
    }
    json::object reply{{"ok", true},
                       {"room", *room},
                       {"language", joined->language},
                       {"voice_mode", chat::to_string(joined->listening.mode)},
                       {"online", std::move(online)}};
    if (level_ != nullptr) reply["service_level"] = service_level::to_string(level_->level());
    if (after_seq) reply["missed"] = std::move(joined->missed);
    ack(json::array{std::move(reply)});
  }
}

json::array ChatEvents::online_in(std::int64_t room_id) const {
  // Presence: who is in the room now (each user once, however many connections they have).
  json::array online;
  std::set<std::int64_t> seen;
  const auto add = [&](const json::value& user) {
    const auto* object = user.if_object();
    const auto* id = object != nullptr ? object->if_contains("id") : nullptr;
    if (id == nullptr || !id->is_int64() || !seen.insert(id->as_int64()).second) return;
    online.push_back(user);
  };
  // This process's connections (the directory may not have the latest entries yet: they are
  // written asynchronously), then the others' from the directory. When the directory is away,
  // this process's connections are all that can be known.
  for (const auto& other : server_->sockets_in(channel(room_id))) {
    if (const auto* who = other->data().if_contains("user")) add(*who);
  }
  if (presence_ != nullptr) {
    if (auto members = presence_->members(channel(room_id))) {
      for (const auto& member : *members) {
        boost::system::error_code ec;
        auto parsed = json::parse(member, ec);
        if (!ec) add(parsed);
      }
    }
  }
  return online;
}

void ChatEvents::entered(const SocketPtr& socket, std::int64_t room_id) {
  if (presence_ == nullptr) return;
  const auto* user = socket->data().if_contains("user");
  if (user == nullptr) return;
  presence_->enter(channel(room_id), socket->id(), json::serialize(*user));
  // A disconnect that ran meanwhile found nothing to take out: take it out now. (The removal
  // marks the socket closed before its on_disconnect, so one of the two always does.)
  if (socket->closed()) presence_->leave(channel(room_id), socket->id());
}

void ChatEvents::exited(const realtime::Socket& socket, std::int64_t room_id) {
  if (presence_ != nullptr) presence_->leave(channel(room_id), socket.id());
}

void ChatEvents::left_channel(const SocketPtr& socket, std::int64_t room_id) {
  exited(*socket, room_id);
  server_->leave(socket, channel(room_id));
  if (translations_ != nullptr) translations_->left(*socket, room_id);
  if (speech_ != nullptr) speech_->room_left(*socket, room_id);
}

void ChatEvents::deliver(const chat::StoredMessage& message, std::string_view request_id,
                         std::optional<std::set<std::string>> member_languages) {
  if (translations_ != nullptr) {
    return translations_->deliver(message, request_id, "new_message", std::nullopt,
                                  std::move(member_languages));
  }
  server_->broadcast(channel(message.room_id), "new_message",
                     json::array{chat::to_json(message, deps_.public_base_url)});
  if (speech_ != nullptr) speech_->message_delivered(message);
}

asio::awaitable<void> ChatEvents::leave_room(SocketPtr socket, json::array args, AckReply ack) {
  auto room = room_of(args);
  if (!room) co_return refuse(socket, ack, std::nullopt, room.error());
  const auto rooms = socket->rooms();
  if (rooms.count(channel(*room)) != 0) {
    left_channel(socket, *room);
    json::value user =
        socket->data().contains("user") ? socket->data()["user"] : json::value(nullptr);
    server_->broadcast(channel(*room), "user_left",
                       json::array{json::object{{"room", *room}, {"user", user}}});
  }
  if (ack) ack(json::array{json::object{{"ok", true}, {"room", *room}}});
}

asio::awaitable<void> ChatEvents::send_message(SocketPtr socket, json::array args, AckReply ack) {
  auto room = room_of(args);
  if (!room) co_return refuse(socket, ack, std::nullopt, room.error());
  if (socket->rooms().count(channel(*room)) == 0) {
    co_return refuse(socket, ack, *room, fail(Errc::forbidden, "join_room first"));
  }
  const auto& body = args[0].as_object();
  const auto* text = body.if_contains("text");
  if (text == nullptr || !text->is_string()) {
    co_return refuse(socket, ack, *room, fail(Errc::validation_failed, "field 'text' is required"));
  }
  std::optional<std::string> client_id;
  if (const auto* id = body.if_contains("client_id"); id != nullptr && !id->is_null()) {
    if (!id->is_string() || id->as_string().size() > 64 || id->as_string().empty()) {
      co_return refuse(socket, ack, *room,
                       fail(Errc::validation_failed, "field 'client_id' must be a short string"));
    }
    client_id = std::string(id->as_string());
  }
  auto declared = language_of(body);
  if (!declared) co_return refuse(socket, ack, *room, declared.error());
  MessageToSend message{*room,
                        socket->user_id(),
                        socket->id(),
                        std::string(text->as_string()),
                        std::move(client_id),
                        std::move(*declared)};
  auto stored = co_await batcher_.async_store(std::move(message), asio::use_awaitable);
  if (!stored) co_return refuse(socket, ack, *room, stored.error());
  // Stored first, then delivered: the ack carries the id and time the history will show. The
  // ack and the sender's own copy leave in one write (realtime::EndOfTurnWriter).
  const auto& shaped = stored->shaped;
  if (ack) {
    ack(json::array{json::object{{"id", shaped.at("id")},
                                 {"created_at", shaped.at("created_at")},
                                 {"language", shaped.at("language")}}});
  }
  deliver(stored->message, socket->event_id(), std::move(stored->members));
}

void ChatEvents::typing(const SocketPtr& socket, const json::array& args) {
  auto room = room_of(args);
  if (!room || socket->rooms().count(channel(*room)) == 0) return;
  if (!deps_.limiter.acquire("typing:" + socket->id(), kTypingLimit).allowed) return;
  json::value user =
      socket->data().contains("user") ? socket->data()["user"] : json::value(nullptr);
  server_->broadcast(channel(*room), "typing",
                     json::array{json::object{{"room", *room}, {"user", user}}}, socket.get());
}

void ChatEvents::on_disconnect(const SocketPtr& socket, const std::string& reason) {
  json::value user =
      socket->data().contains("user") ? socket->data()["user"] : json::value(nullptr);
  for (const auto& name : socket->rooms()) {
    const auto id = std::stoll(name.substr(5));
    exited(*socket, id);
    server_->broadcast(name, "user_left", json::array{json::object{{"room", id}, {"user", user}}},
                       socket.get());
  }
  if (speech_ != nullptr) speech_->on_disconnect(socket);
  if (translations_ != nullptr) translations_->forget(*socket);
  deps_.log.debug("socket_disconnected", {{"socket", socket->id()}, {"reason", reason}});
}

void ChatEvents::on_recovered(const SocketPtr& socket) {
  // The others saw user_left when the connection dropped: tell them it is back.
  json::value user =
      socket->data().contains("user") ? socket->data()["user"] : json::value(nullptr);
  for (const auto& name : socket->rooms()) {
    const auto id = std::stoll(name.substr(5));
    entered(socket, id);
    server_->broadcast(name, "user_joined", json::array{json::object{{"room", id}, {"user", user}}},
                       socket.get());
  }
  if (translations_ != nullptr) translations_->refresh_languages(socket);
  if (speech_ != nullptr) speech_->refresh_choices(socket);
}

void ChatEvents::member_removed(std::int64_t room_id, std::int64_t user_id,
                                std::string_view reason) {
  if (server_ == nullptr) return;
  remove_member_here(room_id, user_id, reason);
  publish_notice(json::object{
      {"kind", "member_removed"}, {"room", room_id}, {"user", user_id}, {"reason", reason}});
}

void ChatEvents::remove_member_here(std::int64_t room_id, std::int64_t user_id,
                                    std::string_view reason) {
  for (const auto& socket : server_->sockets_of(user_id)) {
    if (socket->rooms().count(channel(room_id)) == 0) continue;
    left_channel(socket, room_id);
    socket->emit("room_error",
                 json::array{json::object{
                     {"room", room_id},
                     {"error", json::object{{"code", "forbidden"},
                                            {"message", std::string("removed from the room: ") +
                                                            std::string(reason)}}}}});
    json::value user =
        socket->data().contains("user") ? socket->data()["user"] : json::value(nullptr);
    server_->broadcast(channel(room_id), "user_left",
                       json::array{json::object{{"room", room_id}, {"user", user}}});
  }
}

void ChatEvents::message_posted(const chat::StoredMessage& message) {
  if (server_ == nullptr) return;
  deliver(message);
}

void ChatEvents::room_deleted(std::int64_t room_id) {
  if (server_ == nullptr) return;
  room_deleted_here(room_id);
  publish_notice(json::object{{"kind", "room_deleted"}, {"room", room_id}});
}

void ChatEvents::room_deleted_here(std::int64_t room_id) {
  for (const auto& socket : server_->sockets_in(channel(room_id))) {
    left_channel(socket, room_id);
    socket->emit(
        "room_error",
        json::array{json::object{
            {"room", room_id},
            {"error", json::object{{"code", "not_found"}, {"message", "the room was deleted"}}}}});
  }
}

void ChatEvents::room_updated(const chat::Chatroom& room) {
  if (server_ == nullptr) return;
  server_->broadcast(channel(room.id), "room_updated",
                     json::array{chat::to_json(room, deps_.public_base_url)});
}

// --- several processes ---------------------------------------------------------------------------

void ChatEvents::attach_cluster(core::ClusterBus& bus, core::PresenceDirectory& presence) {
  bus_ = &bus;
  presence_ = &presence;
  bus.subscribe("chat", [this](std::string_view payload) { on_notice(payload); });
  // A process vanished: its connections' rooms hear that they left (from one process only).
  presence.on_lost([this](const std::string& room, const std::string& member) {
    boost::system::error_code ec;
    auto user = json::parse(member, ec);
    if (ec || !room.starts_with("room:")) return;
    std::int64_t id = 0;
    const auto digits = std::string_view(room).substr(5);
    if (std::from_chars(digits.data(), digits.data() + digits.size(), id).ec != std::errc()) return;
    server_->broadcast(room, "user_left", json::array{json::object{{"room", id}, {"user", user}}});
  });
}

void ChatEvents::publish_notice(json::object notice) {
  if (bus_ != nullptr) bus_->publish("chat", json::serialize(notice));
}

void ChatEvents::on_notice(std::string_view payload) {
  boost::system::error_code ec;
  auto parsed = json::parse(payload, ec);
  const auto* notice = parsed.if_object();
  const auto* kind = notice != nullptr ? notice->if_contains("kind") : nullptr;
  if (ec || kind == nullptr || !kind->is_string()) {
    deps_.log.warning("chat_notice_invalid", {{"bytes", payload.size()}});
    return;
  }
  const auto number = [&](std::string_view key) -> std::int64_t {
    const auto* value = notice->if_contains(key);
    return value != nullptr && value->is_int64() ? value->as_int64() : 0;
  };
  const auto text = [&](std::string_view key) -> std::string {
    const auto* value = notice->if_contains(key);
    return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string();
  };
  // Handlers touch sockets only (sends are queued): quick enough for the bus's thread.
  if (*kind == "member_removed") {
    remove_member_here(number("room"), number("user"), text("reason"));
  } else if (*kind == "room_deleted") {
    room_deleted_here(number("room"));
  } else if (*kind == "disconnect_user") {
    disconnect_user_here(number("user"), text("reason"));
  } else if (*kind == "languages_changed") {
    languages_changed_here(number("user"));
  }
}

void ChatEvents::disconnect_user(std::int64_t user_id, const std::string& reason) {
  if (server_ == nullptr) return;
  disconnect_user_here(user_id, reason);
  publish_notice(json::object{{"kind", "disconnect_user"}, {"user", user_id}, {"reason", reason}});
}

void ChatEvents::disconnect_user_here(std::int64_t user_id, const std::string& reason) {
  for (const auto& socket : server_->sockets_of(user_id)) socket->disconnect(reason);
}

void ChatEvents::languages_changed(std::int64_t user_id) {
  if (server_ == nullptr) return;
  languages_changed_here(user_id);
  publish_notice(json::object{{"kind", "languages_changed"}, {"user", user_id}});
}

void ChatEvents::languages_changed_here(std::int64_t user_id) {
  if (speakers_ != nullptr) speakers_->forget(user_id);
  if (translations_ == nullptr) return;
  for (const auto& socket : server_->sockets_of(user_id)) translations_->refresh_languages(socket);
}

}  // namespace parley::events
