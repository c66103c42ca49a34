#pragma once
// The `audio_stream` Socket.IO event and what comes back from it.
//
// In (one event name, an `action` field, acked):
//   audio_stream {action:"start", stream_id, room, codec:"webm-opus"|"ogg-opus"|"pcm16",
//                 sample_rate? (pcm16), language? (default: the speaker's preferred language)}
//     ack {stream_id, engine, partials} | {error:{code,message}}
//   audio_stream {action:"chunk", stream_id}, <binary attachment>
//     ack {stream_id, backlog_ms} | {error} (rate_limited: slow down, the chunk was refused)
//   audio_stream {action:"stop", stream_id}        ack {stream_id}
// Out:
//   audio_transcription to the room: {room, stream_id, speaker, text, is_final, language,
//     start_ms, end_ms, engine, message_id? (finals that were stored)}
//   new_message to the room for each non-empty final (kind "speech", with audio_url)
//   audio_error to the speaker: {room, stream_id, error:{code,message}} (the stream is closed)
//   audio_stream_closed to the speaker: {room, stream_id} once every result was delivered
// Streams end on stop, after PARLEY_STREAM_IDLE_SECONDS without chunks, on error, or when the
// connection goes away; what was already sent is still transcribed.
//
// Listening (opt-in per connection):
//   tts_preferences {enabled, language?, format?: "ogg"|"mp3"|"wav"}   ack {enabled, language,
//   format} tts_audio to that connection, for each message of someone else in a room it joined
//   whose
//     language is its own: {room, message_id, language, format, mime_type, engine, voice:
//     "default"|"clone"|"approximate", duration_ms, audio: <binary>}. The speaker's voice is
//     used when they keep a voice reference (a provider clone, or the embedded approximation).
//   Messages in other languages are spoken in the listener's language once translated.
//
// Listening modes per room (issue 11), chosen by each listener and kept with their membership:
//   set_voice_mode {room, mode: "captions"|"neutral"|"cloned"|"original", format?}
//     -> ack {room, mode, format} | {error}; join_room's ack carries voice_mode too.
//   captions: text only. neutral: tts_audio in a neutral synthesized voice for others' messages in
//   (or translated into) the listener's language of the room. cloned: the same in the speaker's
//   own voice when the speaker keeps a consented voice reference, else neutral with
//   `voice_fallback: "no_consented_voice"`. original: the speaker's recording of each spoken
//   message, as
//     original_audio {room, message_id, language, mime_type, synthetic: false, audio: <binary>}
//   Every tts_audio says `synthetic: true`: synthesized speech is labelled as such.
//   A room choice wins over the connection's tts_preferences; without one, tts_preferences
//   decides as before.
//
// When the process runs out of capacity (issue 11, see service_level/service_level.hpp):
//   neutral_voice: voices that would be the speaker's are neutral, with
//     `voice_fallback: "server_busy"`; captions (and below): nothing is synthesized (recordings
//     for "original" listeners are still forwarded: they cost no computation). New streams
//     are refused with `busy` while the server is overloaded and already degraded.
//
// Speakers who declared the languages they speak (issue 11) and start a stream without
// `language`: with two or more declared and an engine that detects ("auto", the OpenAI-compatible
// one), each utterance's detected language goes through the speaker's tracker, and an utterance
// the tracker does not (yet) believe is another language is recognized again in the current one
// (no flip-flopping on one utterance); otherwise the stream is recognized in their current
// tracked language.

#include <atomic>
#include <boost/asio/thread_pool.hpp>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "auth/accounts.hpp"
#include "chat/chatroom_service.hpp"
#include "core/log.hpp"
#include "core/quotas.hpp"
#include "core/worker_pool.hpp"
#include "realtime/socketio/server.hpp"
#include "service_level/caption_lag.hpp"
#include "service_level/service_level.hpp"
#include "speech/speech_engines.hpp"
#include "speech/speech_streams.hpp"
#include "speech/voice_profiles.hpp"
#include "translate/glossary/glossary_text.hpp"
#include "translate/langid/language_detector.hpp"
#include "translate/translator.hpp"

namespace parley::events {

class SpeakerLanguages;

struct SpeechEventsDeps {
  auth::AccountService& accounts;
  chat::ChatroomService& chatrooms;
  core::WorkerPool& workers;
  core::Logger& log;
  std::string public_base_url;
  std::filesystem::path audio_folder;  ///< uploads/chatroom_audio
  speech::SpeechEngines& engines;
  speech::VoiceProfileStore& voices;
  std::filesystem::path cloned_voice_folder;  ///< uploads/clonedTranslatedVoice
  /// Messages waiting to be spoken to listeners; beyond it, new ones are not spoken (logged).
  std::size_t max_pending_speech = 64;
  /// What speakers' plans allow (seconds of recognition per day, cloud engines); null: all.
  core::Quotas* quotas = nullptr;
  /// Speakers' declared languages and trackers (shared with typed messages); null: streams are
  /// recognized in the language asked for, or the speaker's preferred one.
  SpeakerLanguages* speakers = nullptr;
  /// Caption lag of spoken messages (issue 11); null: not measured.
  service_level::CaptionLag* caption_lag = nullptr;
  /// The level of service this process affords (issue 11); null: always full.
  const service_level::LevelController* service_level = nullptr;
};

class SpeechEvents final : public speech::SpeechStreamSink {
 public:
  explicit SpeechEvents(SpeechEventsDeps deps) : deps_(std::move(deps)) {}
  ~SpeechEvents() override;
  /// Both are set once at start-up, before the first connection.
  void attach(realtime::SocketIoServer& server, speech::SpeechStreams& streams) {
    server_ = &server;
    streams_ = &streams;
  }

  boost::asio::awaitable<void> audio_stream(realtime::SocketPtr socket, boost::json::array args,
                                            realtime::Attachments attachments,
                                            realtime::AckReply ack);
  boost::asio::awaitable<void> tts_preferences(realtime::SocketPtr socket, boost::json::array args,
                                               realtime::AckReply ack);
  boost::asio::awaitable<void> set_voice_mode(realtime::SocketPtr socket, boost::json::array args,
                                              realtime::AckReply ack);
  /// The socket joined the room's channel with this listening choice (join_room).
  void room_joined(const realtime::Socket& socket, std::int64_t room_id,
                   const chat::ListeningChoice& choice);
  /// The socket left the room's channel.
  void room_left(const realtime::Socket& socket, std::int64_t room_id);
  /// Learns the socket's listening choices in its rooms again (posts a worker job): after a
  /// connection state recovery, which brings rooms back without join_room.
  void refresh_choices(const realtime::SocketPtr& socket);
  /// How to learn a socket's language in a room (set once at start-up, before the first
  /// connection; without it, room listening modes speak nothing).
  /// Rooms' glossaries (set once at start-up, before the first connection): streams are biased
  /// toward a room's terms where the engine allows, and synthesis says each term as its
  /// pronunciation gives.
  void attach_glossary(translate::GlossarySource& glossary) { glossary_ = &glossary; }
  void set_language_lookup(
      std::function<std::string(const std::string& socket_id, std::int64_t room_id)> lookup) {
    language_lookup_ = std::move(lookup);
  }
  void on_disconnect(const realtime::SocketPtr& socket);
  /// A message reached its room: speak it to the listeners who asked for speech. Returns at
  /// once; synthesis runs on this object's own thread.
  void message_delivered(const chat::StoredMessage& message);
  /// A message's translation reached its listeners: speak it to those who listen in that
  /// language. Returns at once.
  void translation_delivered(std::int64_t message_id, const translate::Translation& translation);
  /// Messages waiting to be spoken, over the most that may wait (a load signal): 1 is full.
  double synthesis_backlog() const;

  // SpeechStreamSink
  void on_transcription(speech::Transcription result) override;
  void on_stream_error(const speech::StreamKey& key, std::int64_t room_id,
                       const Error& error) override;
  void on_stream_closed(const speech::StreamKey& key, std::int64_t room_id) override;

 private:
  boost::asio::awaitable<void> start(realtime::SocketPtr socket, const boost::json::object& body,
                                     realtime::AckReply ack);
  void emit_to_speaker(const speech::StreamKey& key, std::string_view event,
                       const boost::json::object& payload);

  /// Posts speak(message) to the speaker thread unless too much is waiting.
  void queue_speech(std::int64_t message_id, std::function<void()> speak_it);
  void speak(const chat::StoredMessage& message);
  /// The body's `language`, validated, or else the user's preferred language.
  boost::asio::awaitable<Result<std::string>> language_of(std::int64_t user_id,
                                                          const boost::json::object& body);
  struct StreamLanguage {
    std::string language;   ///< what the stream is recognized in ("auto": detected)
    bool tracked = false;   ///< each utterance goes through the speaker's tracker
    std::string listening;  ///< the tracker's starting point in the room
  };
  /// The language of a new stream: the body's, else the speaker's tracked or preferred one.
  boost::asio::awaitable<Result<StreamLanguage>> stream_language(std::int64_t user_id,
                                                                 std::int64_t room_id,
                                                                 const boost::json::object& body);
  /// A tracked stream's final: labelled by the speaker's tracker, and heard again in the
  /// tracker's language when that is not the language the engine detected.
  void track(speech::Transcription& result, const std::string& listening);

  struct Listener {
    std::int64_t user_id = 0;
    std::string language;
    speech::tts::AudioFormat format = speech::tts::AudioFormat::ogg_opus;
  };
  struct RoomListener {
    std::int64_t user_id = 0;
    chat::ListeningMode mode = chat::ListeningMode::captions;  ///< chosen (captions included)
    speech::tts::AudioFormat format = speech::tts::AudioFormat::ogg_opus;
  };
  /// Whether `user_id` can be spoken to in `language`: an engine speaks it, and a cloud one is in
  /// their plan. Errors: unsupported, quota_exceeded.
  boost::asio::awaitable<Result<void>> can_hear_in(std::int64_t user_id,
                                                   const std::string& language);
  /// Sends the recording of a spoken message to the room's listeners in original mode.
  void send_original(const chat::StoredMessage& message);
  bool anyone_listens();
  service_level::Level level() const {
    return deps_.service_level != nullptr ? deps_.service_level->level()
                                          : service_level::Level::full;
  }

  struct Speaker {
    std::int64_t user_id = 0;
    boost::json::value profile;  ///< {id, username, avatar_url}, as in user_joined
    bool tracked = false;        ///< StreamLanguage::tracked
    std::string listening;
  };

  SpeechEventsDeps deps_;
  translate::LanguageDetector detector_;
  realtime::SocketIoServer* server_ = nullptr;
  speech::SpeechStreams* streams_ = nullptr;
  std::mutex mutex_;
  /// Who speaks on each open stream, for the events the stream produces.
  std::map<speech::StreamKey, Speaker> speakers_;
  /// Connections that asked for speech, by socket id.
  std::map<std::string, Listener> listeners_;
  /// Connections' chosen listening modes in the rooms they joined (none: never chosen).
  std::map<std::string, std::map<std::int64_t, RoomListener>> room_listeners_;
  std::function<std::string(const std::string&, std::int64_t)> language_lookup_;
  translate::GlossarySource* glossary_ = nullptr;
  /// The room's glossary terms (empty without a glossary or on error: logged). BLOCKING.
  std::vector<translate::GlossaryTerm> glossary_terms(std::int64_t room_id);
  std::atomic<std::size_t> pending_speech_{0};
  // Declared last: destroyed (joined) first, while everything its jobs use still exists.
  boost::asio::thread_pool speaker_pool_{1};
};

}  // namespace parley::events
