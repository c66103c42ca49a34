#include "speech/speech_streams.hpp"

#include <boost/asio/post.hpp>
#include <cstring>
#include <deque>
#include <functional>

#include "speech/audio/resampler.hpp"
#include "speech/audio/vad.hpp"

namespace parley::speech {

namespace asio = boost::asio;

namespace {

constexpr int kRate = 16000;

std::int64_t samples_to_ms(std::int64_t samples) { return samples * 1000 / kRate; }

bool valid_stream_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

// Backlog in audio time: exact for pcm16; for opus assume 128 kbit/s, which overestimates the
// bitrate of browser speech (about 32 kbit/s) and so never refuses a real-time speaker.
std::size_t bytes_per_second(const StreamSpec& spec) {
  return spec.codec == StreamCodec::pcm16 ? static_cast<std::size_t>(spec.sample_rate) * 2
                                          : std::size_t{16'000};
}

}  // namespace

std::string reported_language(std::string_view declared, std::string_view recognized) {
  // The declared tag is usually more precise ("en-US" where the engine says "en"); an engine
  // that detected the language (declared "auto") or heard another one is believed.
  if (recognized.empty() || recognized == "und") return std::string(declared);
  if (declared != "auto" && stt::primary_language(declared) == stt::primary_language(recognized)) {
    return std::string(declared);
  }
  return std::string(recognized);
}

Result<StreamCodec> parse_stream_codec(std::string_view text) {
  if (text == "webm-opus" || text == "webm") return StreamCodec::webm_opus;
  if (text == "ogg-opus" || text == "ogg") return StreamCodec::ogg_opus;
  if (text == "pcm16") return StreamCodec::pcm16;
  return fail(Errc::validation_failed, "codec must be webm-opus, ogg-opus or pcm16");
}

// One open stream. Fields below `strand` are touched only on the strand; the atomics are
// shared with the threads that call push() and stop().
class SpeechStreams::Stream : public std::enable_shared_from_this<Stream> {
 public:
  Stream(StreamSpec s, stt::SpeechRecognizer& engine, asio::thread_pool& pool,
         const SpeechStreamOptions& options, SpeechStreamSink& sink,
         const std::atomic<bool>& shutting_down)
      : spec(std::move(s)),
        engine_(engine),
        strand(asio::make_strand(pool)),
        idle_timer_(strand),
        options_(options),
        sink_(sink),
        shutting_down_(shutting_down),
        segmenter_(audio::SegmenterOptions{}),
        audio_origin_(std::chrono::steady_clock::now()) {}

  const StreamSpec spec;
  std::atomic<std::size_t> queued_bytes{0};
  std::atomic<bool> closing{false};  ///< stop requested or failed: no more chunks accepted
  /// Compressed streams: the codec's bytes per second of audio so far (0: not known yet).
  std::atomic<std::size_t> observed_bytes_per_second{0};

  void open() {
    if (spec.codec == StreamCodec::pcm16) {
      if (spec.sample_rate != kRate) {
        auto resampler = audio::Resampler::create(spec.sample_rate);
        if (!resampler) return fail_stream(resampler.error());
        resampler_.emplace(std::move(*resampler));
      }
    } else {
      const auto format =
          spec.codec == StreamCodec::webm_opus ? audio::InputFormat::webm : audio::InputFormat::ogg;
      auto decoder = audio::DecoderProcess::start(options_.decoder, format);
      if (!decoder) return fail_stream(decoder.error());
      decoder_.emplace(std::move(*decoder));
    }
    arm_idle_timer();
  }

  void process_chunk(const std::string& chunk, std::chrono::steady_clock::time_point received) {
    queued_bytes.fetch_sub(chunk.size(), std::memory_order_relaxed);
    if (failed_) return;
    arm_idle_timer();
    // Live audio starts when its first chunk comes (a client starts recording once the stream
    // is acknowledged), not when the stream was opened.
    if (!origin_set_) {
      origin_set_ = true;
      audio_origin_ = received;
    }
    received_ = received;
    if (decoder_) {
      bytes_fed_ += chunk.size();
      auto pcm = decoder_->feed(chunk);
      if (!pcm) return fail_stream(pcm.error());
      handle_pcm(*pcm);
      // What the codec really uses, once a second of audio says (the backlog estimate).
      if (decoded_samples_ >= kRate) {
        observed_bytes_per_second.store(
            static_cast<std::size_t>(static_cast<std::int64_t>(bytes_fed_) * kRate /
                                     decoded_samples_),
            std::memory_order_relaxed);
      }
      return;
    }
    if (chunk.size() % 2 != 0) {
      return fail_stream(fail(Errc::validation_failed,
                              "pcm16 chunks must hold whole 16-bit samples (even byte counts)"));
    }
    std::vector<std::int16_t> samples(chunk.size() / 2);
    std::memcpy(samples.data(), chunk.data(), chunk.size());
    if (resampler_) {
      handle_pcm(resampler_->push(samples));
    } else {
      handle_pcm(samples);
    }
  }

  // End of input: decode what is left, end the open utterance, close.
  void finish(const std::function<void()>& closed) {
    if (finished_) return;
    finished_ = true;
    idle_timer_.cancel();
    if (!failed_) {
      std::vector<std::int16_t> rest;
      if (decoder_ && bytes_fed_ == 0) {
        decoder_.reset();  // nothing was sent: nothing to decode, and nothing wrong
      } else if (decoder_) {
        auto pcm = decoder_->finish();
        if (!pcm) {
          fail_stream(pcm.error());
        } else {
          rest = std::move(*pcm);
        }
        decoder_.reset();
      } else if (resampler_) {
        rest = resampler_->flush();
      }
      if (!failed_) handle_pcm(rest);
      if (!failed_) handle_events(segmenter_.flush());
    }
    decoder_.reset();
    recognition_.reset();
    closed();
  }

  void set_idle_handler(std::function<void()> on_idle) { on_idle_ = std::move(on_idle); }

 private:
  void arm_idle_timer() {
    idle_timer_.expires_after(options_.idle_timeout);
    idle_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || self->closing.load()) return;
      if (self->on_idle_) self->on_idle_();
    });
  }

  void handle_pcm(std::span<const std::int16_t> pcm) {
    if (pcm.empty()) return;
    decoded_samples_ += static_cast<std::int64_t>(pcm.size());
    arrivals_.emplace_back(samples_to_ms(decoded_samples_), received_);
    if (arrivals_.size() > kMaxArrivals) arrivals_.pop_front();
    if (samples_to_ms(decoded_samples_) >
        std::chrono::duration_cast<std::chrono::milliseconds>(options_.max_duration).count()) {
      return fail_stream(
          fail(Errc::payload_too_large, "the stream is longer than " +
                                            std::to_string(options_.max_duration.count()) +
                                            " s; stop it and start a new one"));
    }
    handle_events(segmenter_.push(pcm));
  }

  void handle_events(std::vector<audio::SegmentEvent> events) {
    for (auto& event : events) {
      if (failed_) return;
      switch (event.kind) {
        case audio::SegmentEvent::Kind::started: {
          auto recognition = engine_.start_biased(spec.language, spec.vocabulary);
          if (!recognition) return fail_stream(recognition.error());
          recognition_ = std::move(*recognition);
          utterance_.clear();
          last_partial_.clear();
          utterance_start_ms_ = event.start_ms;
          feed(event);
          break;
        }
        case audio::SegmentEvent::Kind::audio:
          feed(event);
          break;
        case audio::SegmentEvent::Kind::ended:
          feed(event);
          end_utterance(event.end_ms);
          break;
      }
    }
  }

  void feed(const audio::SegmentEvent& event) {
    if (!recognition_ || event.samples.empty()) return;
    utterance_.insert(utterance_.end(), event.samples.begin(), event.samples.end());
    auto partial = recognition_->accept(event.samples);
    if (!partial) return fail_stream(partial.error());
    if (*partial && **partial != last_partial_ && !(*partial)->empty()) {
      last_partial_ = **partial;
      deliver(Transcription{spec.key, spec.room_id, spec.user_id, last_partial_, false,
                            spec.language, utterance_start_ms_, event.end_ms,
                            std::string(engine_.name()), std::nullopt, audio_origin_});
    }
  }

  void end_utterance(std::int64_t end_ms) {
    if (!recognition_) return;
    auto transcript = recognition_->finish();
    recognition_.reset();
    if (!transcript) return fail_stream(transcript.error());
    audio::Pcm16 recording;
    recording.sample_rate = kRate;
    recording.samples = std::move(utterance_);
    utterance_.clear();
    Transcription result{spec.key,
                         spec.room_id,
                         spec.user_id,
                         std::move(transcript->text),
                         true,
                         reported_language(spec.language, transcript->language),
                         utterance_start_ms_,
                         end_ms,
                         std::string(engine_.name()),
                         std::move(recording),
                         audio_origin_};
    result.ended_at = speech_ended_at(end_ms);
    deliver(std::move(result));
  }

  // The earlier of when the audio up to `end_ms` arrived and when it was spoken (live audio).
  std::chrono::steady_clock::time_point speech_ended_at(std::int64_t end_ms) {
    auto arrived = std::chrono::steady_clock::now();
    while (!arrivals_.empty() && arrivals_.front().first < end_ms) arrivals_.pop_front();
    if (!arrivals_.empty()) arrived = arrivals_.front().second;
    return std::min(arrived, audio_origin_ + std::chrono::milliseconds(end_ms));
  }

  void deliver(Transcription result) {
    if (shutting_down_.load()) return;
    sink_.on_transcription(std::move(result));
  }

  void fail_stream(const Error& error) {
    if (failed_) return;
    failed_ = true;
    closing.store(true);
    recognition_.reset();
    decoder_.reset();  // kills the decoder process
    if (!shutting_down_.load()) sink_.on_stream_error(spec.key, spec.room_id, error);
    if (on_idle_) on_idle_();  // closes the stream through the owner
  }

  stt::SpeechRecognizer& engine_;

 public:
  asio::strand<asio::thread_pool::executor_type> strand;

 private:
  asio::steady_timer idle_timer_;
  const SpeechStreamOptions& options_;
  SpeechStreamSink& sink_;
  const std::atomic<bool>& shutting_down_;
  std::optional<audio::DecoderProcess> decoder_;
  std::optional<audio::Resampler> resampler_;
  audio::UtteranceSegmenter segmenter_;
  std::unique_ptr<stt::RecognitionStream> recognition_;
  std::vector<std::int16_t> utterance_;
  std::string last_partial_;
  std::int64_t utterance_start_ms_ = 0;
  // When the stream opened: live audio (a microphone) arrives in real time from there.
  std::chrono::steady_clock::time_point audio_origin_;
  bool origin_set_ = false;
  std::chrono::steady_clock::time_point received_{};  ///< when the chunk being handled came
  std::int64_t decoded_samples_ = 0;
  // When audio reached the segmenter: (stream time decoded so far in ms, arrival), oldest first.
  static constexpr std::size_t kMaxArrivals = 1024;
  std::deque<std::pair<std::int64_t, std::chrono::steady_clock::time_point>> arrivals_;
  std::size_t bytes_fed_ = 0;
  bool failed_ = false;
  bool finished_ = false;
  std::function<void()> on_idle_;
};

SpeechStreams::SpeechStreams(SpeechStreamOptions options, SpeechEngines& engines,
                             SpeechStreamSink& sink)
    : options_(std::move(options)),
      engines_(engines),
      sink_(sink),
      pool_(std::max(1u, options_.threads)) {
  if (options_.warm_streams > 0) {
    asio::post(pool_, [this] {
      // A failure here shows again, with its message, when a stream starts.
      if (!shutting_down_.load()) (void)engines_.prepare_recognition(options_.warm_streams);
    });
  }
}

SpeechStreams::~SpeechStreams() {
  shutting_down_.store(true);
  pool_.stop();
  pool_.join();
}

Result<StreamStarted> SpeechStreams::start(StreamSpec spec) {
  if (!valid_stream_id(spec.key.stream_id)) {
    return fail(Errc::validation_failed, "stream_id must be 1 to 64 printable ASCII characters");
  }
  if (spec.codec == StreamCodec::pcm16 && (spec.sample_rate < 8000 || spec.sample_rate > 48000)) {
    return fail(Errc::validation_failed, "sample_rate must be between 8000 and 48000 for pcm16");
  }
  auto engine = engines_.recognizer_for(spec.language);
  if (!engine) return engine.error();

  std::shared_ptr<Stream> stream;
  {
    std::lock_guard lock(mutex_);
    if (streams_.contains(spec.key)) {
      return fail(Errc::conflict, "a stream with this id is already open");
    }
    if (streams_.size() >= options_.max_streams) {
      return Error(Errc::busy, "the server is transcribing as many streams as it can; try again",
                   std::chrono::seconds(5));
    }
    auto& per_user = streams_per_user_[spec.user_id];
    if (per_user >= options_.max_streams_per_user) {
      return Error(
          Errc::rate_limited,
          "you already have " + std::to_string(per_user) + " open audio streams; stop one first",
          std::chrono::seconds(1));
    }
    ++per_user;
    stream =
        std::make_shared<Stream>(std::move(spec), **engine, pool_, options_, sink_, shutting_down_);
    streams_.emplace(stream->spec.key, stream);
  }
  std::weak_ptr<Stream> weak = stream;
  stream->set_idle_handler([this, weak] {
    if (auto s = weak.lock()) {
      // Idle or failed: end it as if the client had stopped (results so far are delivered).
      if (auto stopped = stop(s->spec.key); !stopped) return;
    }
  });
  asio::post(stream->strand, [stream] { stream->open(); });
  return StreamStarted{std::string((*engine)->name()), (*engine)->gives_partials()};
}

Result<PushAccepted> SpeechStreams::push(const StreamKey& key, std::string chunk) {
  if (chunk.size() > options_.max_chunk_bytes) {
    return fail(Errc::payload_too_large, "an audio chunk may hold at most " +
                                             std::to_string(options_.max_chunk_bytes) + " bytes");
  }
  std::shared_ptr<Stream> stream;
  {
    std::lock_guard lock(mutex_);
    auto it = streams_.find(key);
    if (it != streams_.end()) stream = it->second;
  }
  if (!stream || stream->closing.load()) return fail(Errc::not_found, "no such open stream");
  const auto queued = stream->queued_bytes.load(std::memory_order_relaxed) + chunk.size();
  const std::chrono::milliseconds backlog(queued * 1000 / bytes_per_second(stream->spec));
  if (backlog > options_.max_backlog) {
    return Error(Errc::rate_limited,
                 "audio is arriving faster than it can be transcribed; slow down",
                 std::chrono::milliseconds(500));
  }
  stream->queued_bytes.fetch_add(chunk.size(), std::memory_order_relaxed);
  asio::post(stream->strand,
             [stream, chunk = std::move(chunk), received = std::chrono::steady_clock::now()] {
               stream->process_chunk(chunk, received);
             });
  return PushAccepted{backlog};
}

Result<void> SpeechStreams::stop(const StreamKey& key) {
  std::shared_ptr<Stream> stream;
  {
    std::lock_guard lock(mutex_);
    auto it = streams_.find(key);
    if (it != streams_.end()) stream = it->second;
  }
  if (!stream) return fail(Errc::not_found, "no such open stream");
  stream->closing.store(true);
  asio::post(stream->strand, [this, stream] { stream->finish([this, stream] { close(stream); }); });
  return {};
}

void SpeechStreams::stop_connection(const std::string& connection_id) {
  std::vector<StreamKey> keys;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [key, stream] : streams_) {
      if (key.connection_id == connection_id) keys.push_back(key);
    }
  }
  for (const auto& key : keys) (void)stop(key);
}

void SpeechStreams::close(const std::shared_ptr<Stream>& stream) {
  {
    std::lock_guard lock(mutex_);
    auto it = streams_.find(stream->spec.key);
    if (it == streams_.end() || it->second != stream) return;  // closed already
    streams_.erase(it);
    auto per_user = streams_per_user_.find(stream->spec.user_id);
    if (per_user != streams_per_user_.end() && --per_user->second == 0) {
      streams_per_user_.erase(per_user);
    }
  }
  if (!shutting_down_.load()) sink_.on_stream_closed(stream->spec.key, stream->spec.room_id);
}

std::chrono::milliseconds SpeechStreams::max_backlog() const {
  std::lock_guard lock(mutex_);
  std::chrono::milliseconds most{0};
  for (const auto& [key, stream] : streams_) {
    const auto queued = stream->queued_bytes.load(std::memory_order_relaxed);
    // In audio time at the bitrate the stream really uses, once known (browser opus is about a
    // quarter of what push() assumes).
    const auto observed = stream->observed_bytes_per_second.load(std::memory_order_relaxed);
    const auto rate = observed > 0 ? observed : bytes_per_second(stream->spec);
    most = std::max(most, std::chrono::milliseconds(queued * 1000 / rate));
  }
  return most;
}

std::size_t SpeechStreams::active_streams() const {
  std::lock_guard lock(mutex_);
  return streams_.size();
}

}  // namespace parley::speech
