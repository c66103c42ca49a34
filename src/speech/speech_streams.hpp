#pragma once
// Live speech streams: a speaker's audio chunks in, partial and final transcripts out.
//
// A stream is opened with `start` (codec, rate, language, room), fed with `push` and closed
// with `stop`. Each stream owns a decoder subprocess (compressed codecs) or a resampler (raw
// PCM), a voice-activity segmenter that cuts the audio into utterances, and, while somebody
// speaks, one recognition stream of the engine chosen for its language. All of that runs on
// this object's own bounded thread pool, one strand per stream (so a stream's chunks are
// processed in order and never on a network thread); the calls below only validate, reserve
// and enqueue. Results go to a SpeechStreamSink, called on the stream's strand.

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "speech/audio/decoder_process.hpp"
#include "speech/audio/pcm.hpp"
#include "speech/speech_engines.hpp"

namespace parley::speech {

enum class StreamCodec { webm_opus, ogg_opus, pcm16 };
/// "webm-opus" (MediaRecorder), "ogg-opus", "pcm16" (raw little-endian mono at a declared rate).
Result<StreamCodec> parse_stream_codec(std::string_view text);

/// The language to report for a result: the declared tag unless the engine recognized another
/// language (or the speaker declared "auto").
std::string reported_language(std::string_view declared, std::string_view recognized);

/// Who owns a stream: the connection that opened it and its id on that connection.
struct StreamKey {
  std::string connection_id;
  std::string stream_id;
  auto operator<=>(const StreamKey&) const = default;
};

struct StreamSpec {
  StreamKey key;
  std::int64_t room_id = 0;
  std::int64_t user_id = 0;
  StreamCodec codec = StreamCodec::webm_opus;
  int sample_rate = 16000;  ///< pcm16 only: 8000..48000
  std::string language;     ///< a language tag, or "auto" where the engine can detect
  /// Terms recognition is biased toward where the engine allows (the room's glossary).
  std::vector<stt::VocabularyTerm> vocabulary;
};

struct StreamStarted {
  std::string engine;  ///< e.g. "pocketsphinx"
  bool partials = false;
};

struct Transcription {
  StreamKey key;
  std::int64_t room_id = 0;
  std::int64_t user_id = 0;
  std::string text;
  bool is_final = false;
  std::string language;
  std::int64_t start_ms = 0;  ///< from the start of the stream's audio
  std::int64_t end_ms = 0;
  std::string engine;
  /// Final results only: the utterance's audio (16 kHz mono), to keep with the message.
  std::optional<audio::Pcm16> audio;
  /// When the stream opened, the moment its audio time 0 stands for when the audio comes live
  /// (a microphone sends in real time): start_ms and end_ms after it are when it was spoken.
  std::chrono::steady_clock::time_point audio_origin{};
  /// When the speech ended, as the server can know it: the moment the audio up to end_ms
  /// reached recognition, or audio_origin + end_ms for live audio that came in real time
  /// (whichever is earlier). Caption lag is measured from here.
  std::chrono::steady_clock::time_point ended_at{};
};

/// Receives a stream's results. Called on the stream's strand (a speech pool thread): blocking
/// work (storing a message) is allowed, but it delays that stream only.
class SpeechStreamSink {
 public:
  virtual ~SpeechStreamSink() = default;
  virtual void on_transcription(Transcription result) = 0;
  /// The stream failed (bad audio, engine error, limit reached) and is closed.
  virtual void on_stream_error(const StreamKey& key, std::int64_t room_id, const Error& error) = 0;
  /// The stream is closed and every result was delivered (after stop, idle or failure).
  virtual void on_stream_closed(const StreamKey& key, std::int64_t room_id) = 0;
};

struct SpeechStreamOptions {
  unsigned threads = 2;
  unsigned max_streams = 6;
  unsigned max_streams_per_user = 2;
  std::chrono::seconds max_duration{600};
  std::chrono::seconds idle_timeout{15};
  /// Audio queued ahead of recognition beyond which push() refuses chunks.
  std::chrono::milliseconds max_backlog{5000};
  std::size_t max_chunk_bytes = 256 * 1024;
  /// Recognizers made ready in the background at start-up, so the first speakers do not wait
  /// for models to load (pocketsphinx: ~0.3 s and ~94 MB each).
  std::size_t warm_streams = 1;
  audio::SandboxOptions decoder;
};

struct PushAccepted {
  std::chrono::milliseconds backlog{0};  ///< estimated audio queued ahead of recognition
};

/// Thread-safe: every public function may be called from any thread.
class SpeechStreams {
 public:
  SpeechStreams(SpeechStreamOptions options, SpeechEngines& engines, SpeechStreamSink& sink);
  ~SpeechStreams();  ///< closes every stream without results and joins the pool
  SpeechStreams(const SpeechStreams&) = delete;
  SpeechStreams& operator=(const SpeechStreams&) = delete;

  /// Opens a stream. Errors: conflict (the id is in use on this connection), busy (server-wide
  /// limit), rate_limited (per-user limit), unsupported (no engine for the language),
  /// validation_failed (bad rate or stream id).
  Result<StreamStarted> start(StreamSpec spec);
  /// Queues a chunk. Errors: not_found (no such open stream), payload_too_large (chunk over
  /// max_chunk_bytes), rate_limited (backlog over max_backlog: the speaker sends faster than
  /// recognition keeps up; the chunk is refused, the stream stays open).
  Result<PushAccepted> push(const StreamKey& key, std::string chunk);
  /// Ends a stream: what was sent is still recognized and delivered. Errors: not_found.
  Result<void> stop(const StreamKey& key);
  /// Ends every stream of a connection (it went away): results are still delivered.
  void stop_connection(const std::string& connection_id);

  std::size_t active_streams() const;
  /// The most audio any open stream has queued ahead of recognition (a load signal).
  std::chrono::milliseconds max_backlog() const;

 private:
  class Stream;
  void close(const std::shared_ptr<Stream>& stream);

  SpeechStreamOptions options_;
  SpeechEngines& engines_;
  SpeechStreamSink& sink_;
  std::atomic<bool> shutting_down_{false};
  boost::asio::thread_pool pool_;
  mutable std::mutex mutex_;
  std::map<StreamKey, std::shared_ptr<Stream>> streams_;
  std::map<std::int64_t, unsigned> streams_per_user_;
};

}  // namespace parley::speech
