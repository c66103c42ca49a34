#include "speech/audio/vad.hpp"

#include <algorithm>
#include <cstddef>
#include <new>

// libwebrtc-audio-processing ships no header for its VAD; these are its C entry points
// (unmangled in the library, signatures of webrtc/common_audio/vad/include/webrtc_vad.h).
extern "C" {
struct WebRtcVadInst;
WebRtcVadInst* WebRtcVad_Create();
void WebRtcVad_Free(WebRtcVadInst* handle);
int WebRtcVad_Init(WebRtcVadInst* handle);
int WebRtcVad_set_mode(WebRtcVadInst* handle, int mode);
int WebRtcVad_Process(WebRtcVadInst* handle, int fs, const std::int16_t* audio_frame,
                      std::size_t frame_length);
}

namespace parley::speech::audio {

struct VoiceActivityDetector::Handle {
  WebRtcVadInst* vad = nullptr;
};

void VoiceActivityDetector::Free::operator()(Handle* handle) const noexcept {
  if (handle->vad) WebRtcVad_Free(handle->vad);
  delete handle;
}

VoiceActivityDetector::VoiceActivityDetector(int mode) : handle_(new Handle) {
  handle_->vad = WebRtcVad_Create();
  if (!handle_->vad || WebRtcVad_Init(handle_->vad) != 0 ||
      WebRtcVad_set_mode(handle_->vad, std::clamp(mode, 0, 3)) != 0) {
    throw std::bad_alloc();
  }
}

VoiceActivityDetector::~VoiceActivityDetector() = default;
VoiceActivityDetector::VoiceActivityDetector(VoiceActivityDetector&&) noexcept = default;
VoiceActivityDetector& VoiceActivityDetector::operator=(VoiceActivityDetector&&) noexcept = default;

bool VoiceActivityDetector::is_speech(std::span<const std::int16_t> frame) {
  if (!handle_ || frame.size() != kFrameSamples) return false;
  return WebRtcVad_Process(handle_->vad, kSampleRate, frame.data(), frame.size()) == 1;
}

namespace {
constexpr std::int64_t kFrameMs = 20;
constexpr std::int64_t kSamplesPerMs = 16;
}  // namespace

UtteranceSegmenter::UtteranceSegmenter(SegmenterOptions options)
    : options_(options), vad_(options.vad_mode) {}

std::vector<SegmentEvent> UtteranceSegmenter::push(std::span<const std::int16_t> pcm) {
  std::vector<SegmentEvent> events;
  constexpr std::size_t frame = VoiceActivityDetector::kFrameSamples;
  if (!partial_.empty()) {
    const std::size_t take = std::min(frame - partial_.size(), pcm.size());
    partial_.insert(partial_.end(), pcm.begin(), pcm.begin() + static_cast<std::ptrdiff_t>(take));
    pcm = pcm.subspan(take);
    if (partial_.size() < frame) return events;
    process_frame(partial_, events);
    partial_.clear();
  }
  while (pcm.size() >= frame) {
    process_frame(pcm.first(frame), events);
    pcm = pcm.subspan(frame);
  }
  partial_.assign(pcm.begin(), pcm.end());
  return events;
}

std::vector<SegmentEvent> UtteranceSegmenter::flush() {
  std::vector<SegmentEvent> events;
  if (state_ == State::active) {
    if (!partial_.empty()) append_audio(partial_, frames_seen_ * kFrameMs, events);
    end_utterance(last_voiced_end_ms_, events);
  }
  state_ = State::idle;
  partial_.clear();
  pre_roll_.clear();
  pending_.clear();
  frames_seen_ = 0;
  voiced_ms_ = 0;
  silence_ms_ = 0;
  return events;
}

void UtteranceSegmenter::append_audio(std::span<const std::int16_t> samples, std::int64_t start_ms,
                                      std::vector<SegmentEvent>& events) {
  const auto end_ms = start_ms + static_cast<std::int64_t>(samples.size()) / kSamplesPerMs;
  // One audio event per push: consecutive frames extend the previous event.
  if (!events.empty() && events.back().kind == SegmentEvent::Kind::audio &&
      events.back().end_ms == start_ms) {
    auto& last = events.back();
    last.samples.insert(last.samples.end(), samples.begin(), samples.end());
    last.end_ms = end_ms;
    return;
  }
  events.push_back(SegmentEvent{SegmentEvent::Kind::audio,
                                std::vector<std::int16_t>(samples.begin(), samples.end()), start_ms,
                                end_ms});
}

void UtteranceSegmenter::end_utterance(std::int64_t end_ms, std::vector<SegmentEvent>& events) {
  events.push_back(SegmentEvent{SegmentEvent::Kind::ended, {}, onset_ms_, end_ms});
  state_ = State::idle;
  pre_roll_.clear();
  voiced_ms_ = 0;
  silence_ms_ = 0;
}

void UtteranceSegmenter::process_frame(std::span<const std::int16_t> frame,
                                       std::vector<SegmentEvent>& events) {
  const std::int64_t t0 = frames_seen_ * kFrameMs;
  const std::int64_t t1 = t0 + kFrameMs;
  ++frames_seen_;
  const bool speech = vad_.is_speech(frame);
  const auto pre_roll_samples = static_cast<std::size_t>(
      std::max<std::int64_t>(0, options_.pre_roll.count()) * kSamplesPerMs);

  if (state_ == State::idle) {
    if (!speech) {
      pre_roll_.insert(pre_roll_.end(), frame.begin(), frame.end());
      while (pre_roll_.size() > pre_roll_samples) pre_roll_.pop_front();
      return;
    }
    state_ = State::pending;
    pending_.assign(pre_roll_.begin(), pre_roll_.end());
    pending_start_ms_ = t0 - static_cast<std::int64_t>(pre_roll_.size()) / kSamplesPerMs;
    pre_roll_.clear();
    onset_ms_ = t0;
    voiced_ms_ = 0;
    silence_ms_ = 0;
  }

  if (speech) {
    voiced_ms_ += kFrameMs;
    silence_ms_ = 0;
    last_voiced_end_ms_ = t1;
  } else {
    silence_ms_ += kFrameMs;
  }

  if (state_ == State::pending) {
    pending_.insert(pending_.end(), frame.begin(), frame.end());
    if (voiced_ms_ >= options_.min_speech.count()) {
      // Confirmed: everything buffered since the pre-roll opens the utterance.
      state_ = State::active;
      events.push_back(
          SegmentEvent{SegmentEvent::Kind::started, std::move(pending_), pending_start_ms_, t1});
      pending_.clear();
    } else if (silence_ms_ >= options_.hangover.count()) {
      // A blip: its audio becomes pre-roll again.
      state_ = State::idle;
      const std::size_t keep = std::min(pending_.size(), pre_roll_samples);
      pre_roll_.assign(pending_.end() - static_cast<std::ptrdiff_t>(keep), pending_.end());
      pending_.clear();
      return;
    }
    if (state_ == State::pending) return;
  } else {
    append_audio(frame, t0, events);
    if (silence_ms_ >= options_.hangover.count()) {
      end_utterance(last_voiced_end_ms_, events);
      return;
    }
  }
  if (t1 - onset_ms_ >= options_.max_utterance.count()) {
    end_utterance(t1, events);
  }
}

}  // namespace parley::speech::audio
