// WebRTC VAD and the utterance segmenter on speech from flite and pocketsphinx-testdata,
// padded with digital silence or low-level noise at known positions.

#include "speech/audio/vad.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <random>

#include "test_audio.hpp"

namespace parley::speech::audio {
namespace {

using namespace std::chrono_literals;
using Kind = SegmentEvent::Kind;
using testing::TempDir;

std::vector<std::int16_t> silence(std::int64_t ms) {
  return std::vector<std::int16_t>(static_cast<std::size_t>(ms * 16), 0);
}

std::vector<std::int16_t> noise(std::int64_t ms, int amplitude, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> dist(-amplitude, amplitude);
  std::vector<std::int16_t> out(static_cast<std::size_t>(ms * 16));
  for (auto& s : out) s = static_cast<std::int16_t>(dist(rng));
  return out;
}

void append(std::vector<std::int16_t>& to, const std::vector<std::int16_t>& more) {
  to.insert(to.end(), more.begin(), more.end());
}

struct Utterance {
  std::int64_t start_ms = 0;  // from `ended`
  std::int64_t end_ms = 0;
  std::size_t samples = 0;  // carried by started + audio
  std::int64_t audio_start_ms = 0;
  std::int64_t audio_end_ms = 0;
};

// Runs the segmenter over `pcm` in pieces of `chunk` samples and checks event consistency.
std::vector<Utterance> segment(const std::vector<std::int16_t>& pcm, std::size_t chunk = 1600,
                               SegmenterOptions options = {}) {
  UtteranceSegmenter segmenter(options);
  std::vector<SegmentEvent> events;
  for (std::size_t i = 0; i < pcm.size(); i += chunk) {
    auto got = segmenter.push(std::span(pcm).subspan(i, std::min(chunk, pcm.size() - i)));
    for (auto& e : got) events.push_back(std::move(e));
  }
  for (auto& e : segmenter.flush()) events.push_back(std::move(e));

  std::vector<Utterance> utterances;
  bool open = false;
  for (const auto& e : events) {
    switch (e.kind) {
      case Kind::started:
        EXPECT_FALSE(open);
        open = true;
        utterances.push_back({});
        utterances.back().samples = e.samples.size();
        utterances.back().audio_start_ms = e.start_ms;
        utterances.back().audio_end_ms = e.end_ms;
        EXPECT_EQ(testing::ms_of(e.samples.size()), e.end_ms - e.start_ms);
        break;
      case Kind::audio:
        EXPECT_TRUE(open);
        EXPECT_EQ(e.start_ms, utterances.back().audio_end_ms);  // contiguous
        EXPECT_EQ(testing::ms_of(e.samples.size()), e.end_ms - e.start_ms);
        utterances.back().samples += e.samples.size();
        utterances.back().audio_end_ms = e.end_ms;
        break;
      case Kind::ended:
        EXPECT_TRUE(open);
        open = false;
        EXPECT_TRUE(e.samples.empty());
        utterances.back().start_ms = e.start_ms;
        utterances.back().end_ms = e.end_ms;
        EXPECT_LE(e.end_ms, utterances.back().audio_end_ms);
        EXPECT_LE(utterances.back().audio_start_ms, e.start_ms);
        break;
    }
  }
  EXPECT_FALSE(open);
  return utterances;
}

TEST(VoiceActivityDetector, TellsSpeechFromSilence) {
  VoiceActivityDetector vad;
  const auto zeros = silence(20);
  EXPECT_FALSE(vad.is_speech(zeros));
  EXPECT_FALSE(vad.is_speech(std::span(zeros).first(100)));  // wrong length
  const auto speech = testing::goforward();
  int voiced = 0;
  int frames = 0;
  for (std::size_t i = 0; i + 320 <= speech.size(); i += 320, ++frames) {
    voiced += vad.is_speech(std::span(speech).subspan(i, 320)) ? 1 : 0;
  }
  EXPECT_GT(voiced, frames / 3);
  VoiceActivityDetector moved = std::move(vad);
  EXPECT_FALSE(moved.is_speech(zeros));
}

TEST(UtteranceSegmenter, OneSentenceWithSilenceAround) {
  TempDir dir;
  const auto speech =
      testing::flite_speech("The quick brown fox jumps over the lazy dog.", dir.path());
  const auto [first, last] = testing::speech_bounds(speech);
  std::vector<std::int16_t> pcm = silence(1000);
  append(pcm, speech);
  append(pcm, silence(1500));
  const auto utterances = segment(pcm);
  ASSERT_EQ(utterances.size(), 1u);
  EXPECT_NEAR(utterances[0].start_ms, 1000 + first, 300);
  EXPECT_NEAR(utterances[0].end_ms, 1000 + last, 300);
  // Pre-roll and hangover are carried as audio around the speech.
  EXPECT_LE(utterances[0].audio_start_ms, utterances[0].start_ms - 100);
  EXPECT_GE(utterances[0].audio_end_ms, utterances[0].end_ms + 250);
}

TEST(UtteranceSegmenter, RealRecordingWithSilencePadding) {
  const auto speech = testing::goforward();
  // The recording's own noise floor sits ~35 dB below its peak: speech is what rises well above.
  const auto [first, last] = testing::speech_bounds(speech, 25);
  ASSERT_EQ(first, 500);
  std::vector<std::int16_t> pcm = silence(800);
  append(pcm, speech);
  append(pcm, silence(1200));
  const auto utterances = segment(pcm, 777);  // odd pieces: partial frames are buffered
  ASSERT_GE(utterances.size(), 1u);
  // The recording opens with 500 ms of room noise that WebRTC VAD (mode 2) partly takes for
  // speech, so the onset may come early, but never inside the digital silence before it.
  EXPECT_GE(utterances.front().start_ms, 800);
  EXPECT_LE(utterances.front().start_ms, 800 + first + 300);
  EXPECT_NEAR(utterances.back().end_ms, 800 + last, 300);
}

TEST(UtteranceSegmenter, TwoSentencesSeparatedBySilence) {
  TempDir dir;
  std::vector<std::int16_t> pcm = silence(500);
  append(pcm, testing::flite_speech("Good morning everyone.", dir.path()));
  append(pcm, silence(1000));
  append(pcm, testing::flite_speech("Let us begin the meeting.", dir.path()));
  append(pcm, silence(800));
  const auto utterances = segment(pcm);
  ASSERT_EQ(utterances.size(), 2u);
  EXPECT_LT(utterances[0].end_ms, utterances[1].start_ms - 500);
}

TEST(UtteranceSegmenter, SilenceAndQuietNoiseGiveNothing) {
  EXPECT_TRUE(segment(silence(3000)).empty());
  EXPECT_TRUE(segment(noise(5000, 60, 1)).empty());
  EXPECT_TRUE(segment(noise(5000, 200, 2)).empty());
}

TEST(UtteranceSegmenter, ShortBlipIsIgnored) {
  TempDir dir;
  const auto speech = testing::goforward();
  const auto [first, last] = testing::speech_bounds(speech);
  (void)last;
  // 100 ms of speech is less than min_speech (200 ms).
  std::vector<std::int16_t> pcm = silence(1000);
  const auto from = static_cast<std::size_t>((first + 100) * 16);
  pcm.insert(pcm.end(), speech.begin() + static_cast<std::ptrdiff_t>(from),
             speech.begin() + static_cast<std::ptrdiff_t>(from + 100 * 16));
  append(pcm, silence(1000));
  EXPECT_TRUE(segment(pcm).empty());
}

TEST(UtteranceSegmenter, MaxUtteranceCutsAndRestarts) {
  std::vector<std::int16_t> pcm = silence(300);
  for (int i = 0; i < 3; ++i) append(pcm, testing::goforward());
  append(pcm, silence(1000));
  SegmenterOptions options;
  options.max_utterance = 1s;
  const auto utterances = segment(pcm, 1600, options);
  ASSERT_GE(utterances.size(), 4u);
  for (const auto& u : utterances) EXPECT_LE(u.end_ms - u.start_ms, 1000);
}

TEST(UtteranceSegmenter, ChunkingDoesNotChangeTheResult) {
  std::vector<std::int16_t> pcm = silence(600);
  append(pcm, testing::goforward());
  append(pcm, silence(900));
  const auto whole = segment(pcm, pcm.size());
  const auto pieces = segment(pcm, 123);
  ASSERT_EQ(whole.size(), pieces.size());
  for (std::size_t i = 0; i < whole.size(); ++i) {
    EXPECT_EQ(whole[i].start_ms, pieces[i].start_ms);
    EXPECT_EQ(whole[i].end_ms, pieces[i].end_ms);
    EXPECT_EQ(whole[i].samples, pieces[i].samples);
  }
}

TEST(UtteranceSegmenter, FlushEndsAnOpenUtterance) {
  UtteranceSegmenter segmenter;
  std::vector<std::int16_t> pcm = silence(300);
  append(pcm, testing::goforward());
  const auto [first, last] = testing::speech_bounds(testing::goforward());
  (void)first;
  // Cut inside the speech: the utterance is still open.
  pcm.resize(static_cast<std::size_t>((300 + last - 300) * 16) + 77);
  auto events = segmenter.push(pcm);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front().kind, Kind::started);
  EXPECT_TRUE(segmenter.in_utterance());
  const auto tail = segmenter.flush();
  ASSERT_FALSE(tail.empty());
  EXPECT_EQ(tail.back().kind, Kind::ended);
  EXPECT_FALSE(segmenter.in_utterance());
  EXPECT_TRUE(segmenter.flush().empty());
}

}  // namespace
}  // namespace parley::speech::audio
