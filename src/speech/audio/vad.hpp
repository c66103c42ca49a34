#pragma once
// Voice activity detection (WebRTC VAD from libwebrtc-audio-processing) and the utterance
// segmenter built on it, for 16 kHz mono PCM.

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <vector>

namespace parley::speech::audio {

/// One WebRTC VAD instance. Not thread-safe (one stream per instance); cheap (~1 KB).
class VoiceActivityDetector {
 public:
  static constexpr int kSampleRate = 16000;
  static constexpr std::size_t kFrameSamples = 320;  ///< 20 ms at 16 kHz

  /// mode 0 (least aggressive) .. 3 (most aggressive at rejecting non-speech); clamped.
  /// Throws std::bad_alloc if the instance cannot be allocated.
  explicit VoiceActivityDetector(int mode = 2);
  ~VoiceActivityDetector();
  VoiceActivityDetector(VoiceActivityDetector&&) noexcept;
  VoiceActivityDetector& operator=(VoiceActivityDetector&&) noexcept;

  /// Whether a 20 ms frame (exactly kFrameSamples samples at 16 kHz) holds speech. A frame of
  /// any other length is answered false.
  bool is_speech(std::span<const std::int16_t> frame_20ms_16k);

 private:
  struct Handle;
  struct Free {
    void operator()(Handle* handle) const noexcept;
  };
  std::unique_ptr<Handle, Free> handle_;
};

struct SegmenterOptions {
  std::chrono::milliseconds hangover{300};    ///< non-speech that ends an utterance
  std::chrono::milliseconds min_speech{200};  ///< voiced audio needed before `started`
  std::chrono::milliseconds pre_roll{200};    ///< audio before the onset carried by `started`
  std::chrono::milliseconds max_utterance{std::chrono::seconds{15}};
  int vad_mode = 2;
};

/// Event times are milliseconds from the start of the stream.
/// - started: samples = pre-roll + the audio buffered until min_speech was confirmed;
///   [start_ms, end_ms) is the span of those samples.
/// - audio: samples inside the utterance (hangover included); [start_ms, end_ms) their span.
/// - ended: no samples; start_ms = speech onset, end_ms = end of the last voiced frame (or the
///   cut point when max_utterance was reached).
struct SegmentEvent {
  enum class Kind { started, audio, ended } kind = Kind::audio;
  std::vector<std::int16_t> samples;
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
};

/// Splits a 16 kHz PCM stream into utterances. Not thread-safe (one stream per instance).
class UtteranceSegmenter {
 public:
  explicit UtteranceSegmenter(SegmenterOptions options = {});

  /// Any number of samples; partial 20 ms frames are buffered until completed.
  std::vector<SegmentEvent> push(std::span<const std::int16_t> pcm16k);
  /// End of stream: delivers buffered audio of an open utterance and ends it; a pending
  /// (not yet confirmed) onset is dropped. The segmenter can then be reused from time 0.
  std::vector<SegmentEvent> flush();

  bool in_utterance() const { return state_ == State::active; }

 private:
  enum class State { idle, pending, active };
  void process_frame(std::span<const std::int16_t> frame, std::vector<SegmentEvent>& events);
  void append_audio(std::span<const std::int16_t> samples, std::int64_t start_ms,
                    std::vector<SegmentEvent>& events);
  void end_utterance(std::int64_t end_ms, std::vector<SegmentEvent>& events);

  SegmenterOptions options_;
  VoiceActivityDetector vad_;
  State state_ = State::idle;
  std::vector<std::int16_t> partial_;  // < one frame, waiting for more samples
  std::deque<std::int16_t> pre_roll_;  // recent non-utterance audio
  std::vector<std::int16_t> pending_;  // audio since a possible onset
  std::int64_t frames_seen_ = 0;       // complete frames processed
  std::int64_t onset_ms_ = 0;          // first voiced frame of the (pending) utterance
  std::int64_t pending_start_ms_ = 0;  // time of pending_[0]
  std::int64_t voiced_ms_ = 0;         // voiced audio since the onset
  std::int64_t silence_ms_ = 0;        // trailing non-speech
  std::int64_t last_voiced_end_ms_ = 0;
};

}  // namespace parley::speech::audio
