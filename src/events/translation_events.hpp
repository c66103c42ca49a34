#pragma once
// Every listener reads a room in their own language (issue 6).
//
// Each socket in a room has a listening language: the member's choice for the room, else their
// preferred language. A message reaches the room at once as `new_message`, shaped per language
// group: the original, plus `translation` when the cache knows it, `translation_pending: true`
// when a `translation_result` will follow, or `translation_error` when no engine serves the
// pair. The rest is translated once per language by the durable queue and delivered to the
// group as `translation_result`.
//
// Exactly once per listener: a delivery (send to the group, then mark the job delivered) and a
// catch-up read (join the channel, then read the settled translations) run under the same
// per-room lock, so a listener either receives the delivery or finds it settled, never both
// nor neither.
//
// Socket events:
//   request_translation {message_id, target_language?}      (default: my language in its room)
//   request_translation {text, target_language, source_language?, request_id?}
//     -> translation_result to the requester; ack {status: "delivered"|"pending"} | {error}
//   set_language {room, language|null}  -> ack {room, language}  (null: back to my preference)
//   mark_language {message_id, language}  "this message is in <language>" (any member)
//     -> ack {message} | {error}; the room gets message_updated (below)
// Out:
//   message_updated: a corrected message, shaped per language group as new_message (with
//     `corrected`); its translations follow again as translation_result
//   translation_result {room, message_id, language, text, source, engine, via}
//                    | {room, message_id, language, error: {code, message}}
//                    | {request_id?, language, text, source, engine, via}   (text requests)

#include <array>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

#include "chat/chatroom_service.hpp"
#include "core/cluster.hpp"
#include "core/log.hpp"
#include "core/worker_pool.hpp"
#include "corrections/language_corrections.hpp"
#include "events/speaker_languages.hpp"
#include "realtime/socketio/server.hpp"
#include "service_level/caption_lag.hpp"
#include "translate/messages/message_translator.hpp"

namespace parley::events {

class SpeechEvents;

struct TranslationEventsDeps {
  chat::ChatroomService& chatrooms;
  core::WorkerPool& workers;
  core::Logger& log;
  std::string public_base_url;
  translate::MessageTranslator& translator;
  /// Senders' declared languages and trackers (shared with speech); must outlive the events.
  SpeakerLanguages& speakers;
  /// Caption lag of spoken messages (issue 11); null: not measured.
  service_level::CaptionLag* caption_lag = nullptr;
};

class TranslationEvents final : public translate::TranslationSink,
                                public corrections::CorrectionSink {
 public:
  explicit TranslationEvents(TranslationEventsDeps deps) : deps_(std::move(deps)) {}
  /// Set once at start-up, before the first connection. `speech` may be null.
  void attach(realtime::SocketIoServer& server, SpeechEvents* speech);
  /// With several processes (once, at start-up): a translation finished by another process's
  /// queue worker reaches this process's listeners and requesters too. Across processes the
  /// exactly-once guarantee weakens to at-least-once (a catch-up on one process may race a
  /// delivery from another): results carry message_id and language to tell repeats apart.
  void attach_bus(core::ClusterBus& bus);
  /// Enables mark_language (once, at start-up); `corrections` must outlive this object.
  void attach_corrections(corrections::LanguageCorrections& corrections) {
    corrections_ = &corrections;
  }

  /// BLOCKING (run on a worker). Puts the socket in the room's channel with its listening
  /// `language`; with `after_seq`, returns the messages it missed (seq > after_seq, oldest
  /// first, at most chat::kMaxRecoveryBatch), each with its settled translation.
  /// Errors: the server's join errors (too many rooms), storage errors.
  Result<boost::json::array> join(const realtime::SocketPtr& socket, std::int64_t room_id,
                                  const std::string& language,
                                  std::optional<std::int64_t> after_seq);
  /// The socket left the room's channel (left, kicked, room deleted).
  void left(const realtime::Socket& socket, std::int64_t room_id);
  /// The socket is gone.
  void forget(const realtime::Socket& socket);
  /// Learns the socket's listening languages in its rooms again (posts a worker job): after a
  /// recovery, or when the user's preferred language changed.
  void refresh_languages(const realtime::SocketPtr& socket);
  /// The socket's listening language in the room ("" when it has not joined it).
  std::string language_of(const std::string& socket_id, std::int64_t room_id) const;

  /// BLOCKING (the first time per user: their declared languages are read). The language of a
  /// text a user's socket sends to a room. With `declared` (the message says its language):
  /// CLD2, or `declared` for short or ambiguous text. Else, when the user declared the
  /// languages they speak: the speaker's language tracker in the room (switches only on
  /// confident, persistent evidence among those languages). Else CLD2, or the socket's
  /// listening language in the room for short or ambiguous text.
  std::string language_of_text(std::string_view text, const std::optional<std::string>& declared,
                               std::int64_t user_id, const std::string& socket_id,
                               std::int64_t room_id);

  /// BLOCKING (database). The listening languages of a room's members, online or not: a
  /// message is translated into each of them (for the history) as well as for whoever listens.
  /// `members_version`: the room's, when the caller read it (ChatroomService::PostedMessage).
  Result<std::set<std::string>> member_languages(
      std::int64_t room_id, std::optional<std::int64_t> members_version = std::nullopt);

  /// A stored message reaches its room now, shaped per language group; the translations that
  /// are not known yet are queued (on a worker). Non-blocking.
  /// `request_id`: what caused the message (see Socket::event_id), for the jobs' log lines.
  /// `event`: "new_message", or "message_updated" for a corrected message (not spoken again).
  /// `payer`: who pays for its translations (default: the sender).
  /// `members`: member_languages read when the message was stored, if the caller has them; when
  /// neither they nor the listeners ask for another language than the message's, no job is
  /// queued (a room of one language costs no worker hop per message).
  void deliver(const chat::StoredMessage& message, std::string_view request_id = {},
               std::string_view event = "new_message",
               std::optional<std::int64_t> payer = std::nullopt,
               std::optional<std::set<std::string>> members = std::nullopt);

  boost::asio::awaitable<void> request_translation(realtime::SocketPtr socket,
                                                   boost::json::array args, realtime::AckReply ack);
  boost::asio::awaitable<void> set_language(realtime::SocketPtr socket, boost::json::array args,
                                            realtime::AckReply ack);
  boost::asio::awaitable<void> mark_language(realtime::SocketPtr socket, boost::json::array args,
                                             realtime::AckReply ack);

  // CorrectionSink
  void message_corrected(const chat::StoredMessage& message, std::int64_t actor_id,
                         std::string_view request_id) override;

  // TranslationSink
  void translation_ready(const translate::MessageRef& message,
                         const translate::Translation& translation,
                         const std::function<void()>& settle) override;
  void translation_failed(const translate::MessageRef& message, std::string_view target,
                          const Error& error) override;

 private:
  using RequestKey = std::pair<std::int64_t, std::string>;  // message id, language
  std::mutex& room_lock(std::int64_t room_id) {
    return room_locks_[static_cast<std::size_t>(room_id) % room_locks_.size()];
  }
  /// Records what the socket listens in; nothing once it is closed (forget() has run or is
  /// about to: an entry made after it would stay, and keep a language "online").
  void set_listener(const realtime::Socket& socket, std::int64_t room_id, std::string language);
  /// Sends `payload` as translation_result to the room's listeners in `language` and to those
  /// who asked for it. Call under room_lock(room).
  void send_result(std::int64_t room_id, std::int64_t message_id, const std::string& language,
                   const boost::json::object& payload);
  /// Tells the other processes (after the local delivery) so that their listeners get it too.
  void relay_result(std::int64_t room_id, std::int64_t message_id, const std::string& language,
                    const boost::json::object& payload);
  void on_relayed_result(std::string_view payload);
  /// A translation made from a message's language before it was corrected: never delivered.
  bool is_stale(std::int64_t message_id, std::string_view source) const;
  void queue_translations(chat::StoredMessage message, std::string source,
                          std::set<std::string> online, std::set<std::string> announced,
                          std::string request_id, std::optional<std::int64_t> payer,
                          std::optional<std::set<std::string>> members);

  TranslationEventsDeps deps_;
  realtime::SocketIoServer* server_ = nullptr;
  SpeechEvents* speech_ = nullptr;
  core::ClusterBus* bus_ = nullptr;
  corrections::LanguageCorrections* corrections_ = nullptr;
  std::array<std::mutex, 64> room_locks_;
  // Innermost lock: never held while calling the server (whose lock may call back into it).
  mutable std::mutex registry_mutex_;
  // socket -> room -> listening language; hashed, as deliveries look up every recipient.
  std::unordered_map<std::string, std::map<std::int64_t, std::string>> languages_;
  // room -> listening language -> how many of this process's sockets listen in it: a delivery
  // learns the languages wanted now without visiting the room's members.
  std::map<std::int64_t, std::map<std::string, std::size_t>> room_languages_;
  void count_listener_locked(std::int64_t room_id, const std::string& language);
  void uncount_listener_locked(std::int64_t room_id, const std::string& language);
  /// The languages this process's sockets in the room listen in (none empty).
  std::set<std::string> online_languages(std::int64_t room_id) const;
  std::map<RequestKey, std::map<std::string, std::weak_ptr<realtime::Socket>>> requesters_;
  // Recently corrected messages and the language their translations must now come from
  // (bounded: the oldest go first), under their own lock.
  mutable std::mutex corrections_mutex_;
  std::map<std::int64_t, std::string> corrected_sources_;
  std::deque<std::int64_t> corrected_order_;
};

}  // namespace parley::events
