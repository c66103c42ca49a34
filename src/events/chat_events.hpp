#pragma once
// Parley's Socket.IO events (the original's socket_handlers/events.py): join_room, leave_room,
// send_message and typing in; user_joined, user_left, new_message, typing and room_error out.
//   join_room {room, language?, after_seq?}: language (a tag; null resets) sets the member's
//     listening language for the room; after_seq asks for the messages missed since then.
//     ack {ok, room, language, online: [users], missed?: [messages with their translation]}
//   send_message {room, text, client_id?, language?}: language is the sender's declared
//     language, used when the text is too short or ambiguous to detect.
// Thin: validates, calls the chatroom service on the worker pool (send_message's in batches,
// MessageBatcher), shapes the events.

#include <set>
#include <string>

#include "auth/accounts.hpp"
#include "chat/chatroom_observer.hpp"
#include "chat/chatroom_service.hpp"
#include "core/cluster.hpp"
#include "core/log.hpp"
#include "core/rate_limiter.hpp"
#include "core/worker_pool.hpp"
#include "events/message_batcher.hpp"
#include "realtime/socketio/server.hpp"
#include "service_level/service_level.hpp"

namespace parley::events {

class SpeakerLanguages;
class SpeechEvents;
class TranslationEvents;

struct ChatEventsDeps {
  auth::AccountService& accounts;
  chat::ChatroomService& chatrooms;
  core::WorkerPool& workers;
  core::RateLimiter& limiter;
  core::Logger& log;
  std::string public_base_url;
};

class ChatEvents final : public realtime::SocketApplication, public chat::ChatroomObserver {
 public:
  explicit ChatEvents(ChatEventsDeps deps)
      : deps_(std::move(deps)),
        batcher_(
            {deps_.chatrooms, deps_.workers, deps_.public_base_url, deps_.workers.capacity()}) {}
  /// Set once the Socket.IO server exists (it is built with this object as its application).
  void attach(realtime::SocketIoServer& server) { server_ = &server; }
  /// Speech events (audio_stream) are handled by `speech` when set (once, at start-up).
  void attach_speech(SpeechEvents& speech) { speech_ = &speech; }
  /// join_room's ack then says the process's level of service (issue 11).
  void attach_service_level(const service_level::LevelController& level) { level_ = &level; }
  /// Messages are delivered per listener language by `translations` when set (once, at
  /// start-up); request_translation and set_language are its events.
  void attach_translations(TranslationEvents& translations) {
    translations_ = &translations;
    batcher_.attach_translations(translations);
  }
  /// Told when a user's declared languages change (once, at start-up).
  void attach_speakers(SpeakerLanguages& speakers) { speakers_ = &speakers; }
  /// With several processes (once, at start-up, after attach()): presence spans every process,
  /// and changes made through one (a member removed, a room deleted, an account closed) reach
  /// the connections held by the others.
  void attach_cluster(core::ClusterBus& bus, core::PresenceDirectory& presence);

  /// Closes every connection of the user, on every process (account deleted, logged out).
  void disconnect_user(std::int64_t user_id, const std::string& reason);
  /// The user's preferred language changed: their connections learn their languages again.
  void languages_changed(std::int64_t user_id);

  // SocketApplication
  boost::asio::awaitable<Result<std::int64_t>> authenticate(boost::json::value auth) override;
  std::optional<Result<std::int64_t>> authenticate_at_once(const boost::json::value& auth) override;
  void on_connect(const realtime::SocketPtr& socket, const boost::json::value& auth) override;
  boost::asio::awaitable<void> on_event(realtime::SocketPtr socket, std::string name,
                                        boost::json::array args, realtime::Attachments attachments,
                                        realtime::AckReply ack) override;
  void on_disconnect(const realtime::SocketPtr& socket, const std::string& reason) override;
  void on_recovered(const realtime::SocketPtr& socket) override;

  // ChatroomObserver: REST changes that must reach live connections at once.
  void member_removed(std::int64_t room_id, std::int64_t user_id, std::string_view reason) override;
  void room_deleted(std::int64_t room_id) override;
  void room_updated(const chat::Chatroom& room) override;
  void message_posted(const chat::StoredMessage& message) override;

  static std::string channel(std::int64_t room_id) { return "room:" + std::to_string(room_id); }

 private:
  boost::asio::awaitable<void> join_room(realtime::SocketPtr socket, boost::json::array args,
                                         realtime::AckReply ack);
  boost::asio::awaitable<void> leave_room(realtime::SocketPtr socket, boost::json::array args,
                                          realtime::AckReply ack);
  boost::asio::awaitable<void> send_message(realtime::SocketPtr socket, boost::json::array args,
                                            realtime::AckReply ack);
  void typing(const realtime::SocketPtr& socket, const boost::json::array& args);
  /// A stored message reaches its room (per language group when translation is on) and the
  /// listeners who asked for speech. `member_languages`: see TranslationEvents::deliver.
  void deliver(const chat::StoredMessage& message, std::string_view request_id = {},
               std::optional<std::set<std::string>> member_languages = std::nullopt);
  void left_channel(const realtime::SocketPtr& socket, std::int64_t room_id);
  void refuse(const realtime::SocketPtr& socket, const realtime::AckReply& ack,
              std::optional<std::int64_t> room, const Error& error);
  /// Who is in the room now, each user once: from the presence directory (every process) when
  /// there is one and it answers, else this process's connections. BLOCKING with a directory.
  boost::json::array online_in(std::int64_t room_id) const;
  void entered(const realtime::SocketPtr& socket, std::int64_t room_id);
  void exited(const realtime::Socket& socket, std::int64_t room_id);
  // What a notice from another process asks of this process's connections.
  void remove_member_here(std::int64_t room_id, std::int64_t user_id, std::string_view reason);
  void room_deleted_here(std::int64_t room_id);
  void disconnect_user_here(std::int64_t user_id, const std::string& reason);
  void languages_changed_here(std::int64_t user_id);
  void on_notice(std::string_view payload);
  void publish_notice(boost::json::object notice);

  ChatEventsDeps deps_;
  MessageBatcher batcher_;  // send_message's storage
  realtime::SocketIoServer* server_ = nullptr;
  SpeechEvents* speech_ = nullptr;
  const service_level::LevelController* level_ = nullptr;
  TranslationEvents* translations_ = nullptr;
  SpeakerLanguages* speakers_ = nullptr;
  core::ClusterBus* bus_ = nullptr;
  core::PresenceDirectory* presence_ = nullptr;
};

}  // namespace parley::events
