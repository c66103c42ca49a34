#include "speech/tts/voice_profile.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "tts_test_support.hpp"

namespace parley::speech::tts {
namespace {

using testing::TempDir;
using Gender = VoiceProfile::Gender;

const char* const kText =
    "The weather today is calm and clear. We will meet at the station at nine, then walk "
    "along the river to the old market, where we can buy bread, cheese and fresh fruit for "
    "the afternoon.";

/// A synthetic voiced signal with a known F0: a glottal-like pulse train (rich in harmonics)
/// shaped into 200 ms "syllables" separated by 100 ms pauses.
Pcm pulse_speech(int rate, double f0, double seconds) {
  Pcm pcm{rate, {}};
  const auto n = static_cast<std::size_t>(rate * seconds);
  pcm.samples.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double t = static_cast<double>(i) / rate;
    const double cycle = std::fmod(t * f0, 1.0);
    const double pulse = std::exp(-cycle * 12.0) - 0.08;
    const double syllable = std::fmod(t, 0.3) < 0.2 ? std::sin(M_PI * std::fmod(t, 0.3) / 0.2) : 0;
    pcm.samples[i] = static_cast<std::int16_t>(std::lround(12000 * pulse * syllable));
  }
  return pcm;
}

TEST(VoiceProfile, KnownPitchOfASyntheticVoice) {
  for (double f0 : {95.0, 130.0, 210.0, 280.0}) {
    for (int rate : {16000, 22050, 48000}) {
      auto profile = estimate_voice_profile(pulse_speech(rate, f0, 6.0).samples, rate);
      ASSERT_TRUE(profile) << profile.error().message;
      EXPECT_NEAR(profile->pitch_hz, f0, f0 * 0.05) << f0 << " Hz at " << rate;
      EXPECT_EQ(profile->gender, f0 < 155 ? Gender::male : Gender::female);
      // 3.33 syllables per second → 200 per minute of audio; speech time is ~2/3 of it.
      EXPECT_GT(profile->speaking_rate_wpm, 80);
      EXPECT_LT(profile->speaking_rate_wpm, 250);
    }
  }
}

struct Voice {
  const char* name;
  const char* engine;  // "espeak" or "flite"
  const char* voice;
  Gender gender;
  double low_hz;  // known range of the voice's median F0
  double high_hz;
};

class RealVoices : public ::testing::TestWithParam<Voice> {};

TEST_P(RealVoices, PitchAndGender) {
  const Voice v = GetParam();
  TempDir dir;
  Pcm pcm;
  if (std::string(v.engine) == "espeak") {
    auto speech = testing::shared_espeak().synthesize_pcm({kText, "en", std::string(v.voice), {}});
    ASSERT_TRUE(speech) << speech.error().message;
    pcm = std::move(*speech);
  } else {
    const auto wav = dir / "ref.wav";
    ASSERT_NO_THROW(testing::flite(kText, v.voice, wav));
    pcm = testing::read_wav(wav);
  }
  ASSERT_GT(pcm.samples.size(), 0u);
  auto profile = estimate_voice_profile(pcm.samples, pcm.sample_rate);
  ASSERT_TRUE(profile) << profile.error().message;
  RecordProperty("pitch_hz", std::to_string(profile->pitch_hz));
  RecordProperty("speaking_rate_wpm", std::to_string(profile->speaking_rate_wpm));
  EXPECT_EQ(profile->gender, v.gender) << v.name << " " << profile->pitch_hz << " Hz";
  EXPECT_GE(profile->pitch_hz, v.low_hz) << v.name;
  EXPECT_LE(profile->pitch_hz, v.high_hz) << v.name;
  EXPECT_EQ(profile->espeak_variant.empty(), false);
  EXPECT_EQ(profile->espeak_variant[0], v.gender == Gender::male ? 'm' : 'f');
  // Synthetic voices read at ~150-200 wpm.
  EXPECT_GT(profile->speaking_rate_wpm, 90) << v.name;
  EXPECT_LT(profile->speaking_rate_wpm, 300) << v.name;
}

// Ranges: the variants' own pitch settings (espeak-ng-data/voices/!v: m3 80-122 Hz base, f3
// 140-240 Hz) and the CMU Arctic speakers' published means (slt ~ 180 Hz, awb/rms/kal ~ 100-130
// Hz), widened by ±20%.
INSTANTIATE_TEST_SUITE_P(
    Voices, RealVoices,
    ::testing::Values(Voice{"espeak_m3", "espeak", "en+m3", Gender::male, 80, 150},
                      Voice{"espeak_f3", "espeak", "en+f3", Gender::female, 160, 300},
                      Voice{"flite_slt", "flite", "slt", Gender::female, 150, 230},
                      Voice{"flite_kal", "flite", "kal", Gender::male, 75, 150},
                      Voice{"flite_awb", "flite", "awb", Gender::male, 75, 150},
                      Voice{"flite_rms", "flite", "rms", Gender::male, 70, 150}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(VoiceProfile, EspeakRateIsRecovered) {
  auto& tts = testing::shared_espeak();
  VoiceProfile slow{0, 120, Gender::male, "m3"};
  VoiceProfile fast{0, 260, Gender::male, "m3"};
  auto a = tts.synthesize_pcm({kText, "en", {}, slow});
  auto b = tts.synthesize_pcm({kText, "en", {}, fast});
  ASSERT_TRUE(a && b);
  auto pa = estimate_voice_profile(a->samples, a->sample_rate);
  auto pb = estimate_voice_profile(b->samples, b->sample_rate);
  ASSERT_TRUE(pa && pb);
  EXPECT_GT(pb->speaking_rate_wpm, pa->speaking_rate_wpm * 1.4);
}

TEST(VoiceProfile, ProfileDrivesEspeakPitch) {
  auto& tts = testing::shared_espeak();
  auto low = tts.synthesize_pcm({kText, "en", {}, VoiceProfile{95, 0, Gender::male, "m3"}});
  auto high = tts.synthesize_pcm({kText, "en", {}, VoiceProfile{150, 0, Gender::male, "m3"}});
  ASSERT_TRUE(low && high);
  auto pl = estimate_voice_profile(low->samples, low->sample_rate);
  auto ph = estimate_voice_profile(high->samples, high->sample_rate);
  ASSERT_TRUE(pl && ph);
  EXPECT_NEAR(pl->pitch_hz, 95, 95 * 0.2);
  EXPECT_NEAR(ph->pitch_hz, 150, 150 * 0.2);
}

TEST(VoiceProfile, TooLittleSpeech) {
  // Silence.
  std::vector<std::int16_t> silence(16000 * 10, 0);
  auto s = estimate_voice_profile(silence, 16000);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::validation_failed);
  EXPECT_EQ(s.error().message, "reference audio has too little speech");
  // One short sentence (< 3 s of speech) in 10 s of audio.
  auto hi = testing::shared_espeak().synthesize_pcm({"Hi there.", "en", {}, {}});
  ASSERT_TRUE(hi);
  std::vector<std::int16_t> padded(hi->samples);
  padded.resize(static_cast<std::size_t>(hi->sample_rate) * 10, 0);
  auto p = estimate_voice_profile(padded, hi->sample_rate);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, Errc::validation_failed);
  // Empty and bad rates.
  EXPECT_FALSE(estimate_voice_profile({}, 16000));
  EXPECT_FALSE(estimate_voice_profile(silence, 0));
  EXPECT_FALSE(estimate_voice_profile(silence, 1000000));
}

TEST(VoiceProfile, NoiseHasNoGender) {
  // Loud white noise: speech by energy, but not periodic.
  Pcm noise{16000, {}};
  std::uint32_t state = 12345;
  for (int i = 0; i < 16000 * 5; ++i) {
    state = state * 1664525u + 1013904223u;
    noise.samples.push_back(static_cast<std::int16_t>(static_cast<int>(state >> 16) - 32768) / 4);
  }
  auto p = estimate_voice_profile(noise.samples, 16000);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->gender, Gender::unknown);
  EXPECT_TRUE(p->espeak_variant.empty());
}

}  // namespace
}  // namespace parley::speech::tts
