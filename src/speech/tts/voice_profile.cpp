#include "speech/tts/voice_profile.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace parley::speech::tts {
namespace {

constexpr double kMinF0 = 60.0;
constexpr double kMaxF0 = 400.0;
constexpr double kHopSeconds = 0.010;
constexpr double kFrameSeconds = 0.040;
constexpr double kYinThreshold = 0.15;
constexpr double kGenderThresholdHz = 155.0;
constexpr double kMinPitchedSeconds = 1.0;
constexpr double kSyllablesPerWord = 1.5;
// Syllable-nucleus detection, tuned on espeak-ng (120 and 260 wpm) and flite voices: a +-20 ms
// smoothing keeps syllables of fast speech apart; a peak must rise 1 dB over the preceding dip
// and stand within 10 dB of the median speech energy. YIN is not required on the peak: it
// misses many short vowels of fast speech.
constexpr std::size_t kSmooth = 2;
constexpr double kDip = 1.0;
constexpr double kFloor = 10.0;

/// Low-passes and decimates to ~11 kHz: pitch lives far below, and YIN's cost grows with the
/// square of the rate.
std::vector<float> downsample(std::span<const std::int16_t> pcm, int sample_rate, int& out_rate) {
  const int factor = std::max(1, sample_rate / 11025);
  out_rate = sample_rate / factor;
  std::vector<float> out;
  out.reserve(pcm.size() / static_cast<std::size_t>(factor) + 1);
  for (std::size_t i = 0; i + static_cast<std::size_t>(factor) <= pcm.size();
       i += static_cast<std::size_t>(factor)) {
    float sum = 0;
    for (int k = 0; k < factor; ++k)
      sum += static_cast<float>(pcm[i + static_cast<std::size_t>(k)]);
    out.push_back(sum / static_cast<float>(factor));
  }
  return out;
}

/// YIN (de Cheveigné & Kawahara 2002) on one frame; 0 when the frame is not periodic enough.
double yin_f0(const float* x, std::size_t window, std::size_t min_lag, std::size_t max_lag,
              int rate, std::vector<double>& diff) {
  diff.assign(max_lag + 1, 0.0);
  for (std::size_t tau = 1; tau <= max_lag; ++tau) {
    double sum = 0;
    for (std::size_t j = 0; j < window; ++j) {
      const double d = static_cast<double>(x[j]) - static_cast<double>(x[j + tau]);
      sum += d * d;
    }
    diff[tau] = sum;
  }
  // Cumulative mean normalised difference.
  double running = 0;
  diff[0] = 1;
  for (std::size_t tau = 1; tau <= max_lag; ++tau) {
    running += diff[tau];
    diff[tau] = running > 0 ? diff[tau] * static_cast<double>(tau) / running : 1;
  }
  std::size_t best = 0;
  for (std::size_t tau = min_lag; tau <= max_lag; ++tau) {
    if (diff[tau] < kYinThreshold) {
      while (tau + 1 <= max_lag && diff[tau + 1] < diff[tau]) ++tau;
      best = tau;
      break;
    }
  }
  if (best == 0) return 0;
  // Parabolic interpolation around the minimum for sub-sample precision.
  double refined = static_cast<double>(best);
  if (best > 1 && best < max_lag) {
    const double a = diff[best - 1];
    const double b = diff[best];
    const double c = diff[best + 1];
    const double denom = a - 2 * b + c;
    if (denom > 0) refined += 0.5 * (a - c) / denom;
  }
  return static_cast<double>(rate) / refined;
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  const auto mid = values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2);
  std::nth_element(values.begin(), mid, values.end());
  return *mid;
}

std::string choose_variant(VoiceProfile::Gender gender, double pitch_hz) {
  // Base pitches of espeak-ng's variants (espeak-ng-data/voices/!v): m8 65, m1 75, m3 80,
  // m2 88 Hz; f1/f3 140, f5 160 Hz.
  if (gender == VoiceProfile::Gender::female) return pitch_hz >= 230 ? "f5" : "f3";
  if (gender == VoiceProfile::Gender::male) {
    if (pitch_hz < 95) return "m1";
    return pitch_hz >= 135 ? "m2" : "m3";
  }
  return {};
}

}  // namespace

Result<VoiceProfile> estimate_voice_profile(std::span<const std::int16_t> pcm, int sample_rate) {
  if (sample_rate < 8000 || sample_rate > 192000) {
    return fail(Errc::validation_failed, "unsupported sample rate for reference audio");
  }
  const std::size_t max_samples = static_cast<std::size_t>(sample_rate) * 600;
  if (pcm.size() > max_samples) pcm = pcm.first(max_samples);

  int rate = 0;
  const std::vector<float> x = downsample(pcm, sample_rate, rate);
  const auto hop = static_cast<std::size_t>(kHopSeconds * rate);
  const auto frame = static_cast<std::size_t>(kFrameSeconds * rate);
  const auto min_lag = static_cast<std::size_t>(rate / kMaxF0);
  const auto max_lag = static_cast<std::size_t>(std::ceil(rate / kMinF0));
  const std::size_t window = frame > max_lag ? frame - max_lag : frame / 2;
  const Error too_little{Errc::validation_failed, "reference audio has too little speech"};
  if (x.size() < frame + max_lag || hop == 0) return too_little;

  // Energy per hop (10 ms frames), in dB.
  const std::size_t frames = (x.size() - frame - max_lag) / hop + 1;
  std::vector<double> energy_db(frames);
  double loudest = -200;
  for (std::size_t f = 0; f < frames; ++f) {
    double sum = 0;
    for (std::size_t j = 0; j < frame; ++j) {
      const double v = x[f * hop + j];
      sum += v * v;
    }
    const double rms = std::sqrt(sum / static_cast<double>(frame));
    energy_db[f] = 20 * std::log10(rms + 1e-9);
    loudest = std::max(loudest, energy_db[f]);
  }
  // Speech gate: within 30 dB of the loudest frame and above ~-60 dBFS (rms 33 of 32768).
  const double gate = std::max(loudest - 30.0, 30.0);
  std::vector<bool> speech(frames);
  std::size_t speech_frames = 0;
  for (std::size_t f = 0; f < frames; ++f) {
    speech[f] = energy_db[f] > gate;
    if (speech[f]) ++speech_frames;
  }
  const double speech_seconds = static_cast<double>(speech_frames) * kHopSeconds;
  if (speech_seconds < kMinReferenceSpeechSeconds) return too_little;

  // F0 on speech frames.
  std::vector<double> f0s;
  std::vector<double> scratch;
  for (std::size_t f = 0; f < frames; ++f) {
    if (!speech[f]) continue;
    const double f0 = yin_f0(x.data() + f * hop, window, min_lag, max_lag, rate, scratch);
    if (f0 >= kMinF0 && f0 <= kMaxF0) {
      f0s.push_back(f0);
    }
  }

  VoiceProfile profile;
  const double pitched_seconds = static_cast<double>(f0s.size()) * kHopSeconds;
  if (!f0s.empty()) profile.pitch_hz = median(f0s);
  if (pitched_seconds >= kMinPitchedSeconds) {
    profile.gender = profile.pitch_hz < kGenderThresholdHz ? VoiceProfile::Gender::male
                                                           : VoiceProfile::Gender::female;
  }

  // Syllable nuclei: peaks of the smoothed energy envelope within speech (see kSmooth).
  std::vector<double> smooth(frames);
  for (std::size_t f = 0; f < frames; ++f) {
    const std::size_t lo = f >= kSmooth ? f - kSmooth : 0;
    const std::size_t hi = std::min(frames - 1, f + kSmooth);
    double sum = 0;
    for (std::size_t k = lo; k <= hi; ++k) sum += energy_db[k];
    smooth[f] = sum / static_cast<double>(hi - lo + 1);
  }
  std::vector<double> speech_energy;
  for (std::size_t f = 0; f < frames; ++f) {
    if (speech[f]) speech_energy.push_back(smooth[f]);
  }
  const double floor_db = median(speech_energy) - kFloor;
  std::size_t syllables = 0;
  double dip = smooth.empty() ? 0 : smooth[0];
  for (std::size_t f = 1; f + 1 < frames; ++f) {
    dip = std::min(dip, smooth[f]);
    const bool peak = smooth[f] >= smooth[f - 1] && smooth[f] > smooth[f + 1];
    if (peak && speech[f] && smooth[f] > floor_db && smooth[f] - dip >= kDip) {
      ++syllables;
      dip = smooth[f];
    }
  }
  if (syllables > 0) {
    const double per_minute = static_cast<double>(syllables) / (speech_seconds / 60.0);
    profile.speaking_rate_wpm = per_minute / kSyllablesPerWord;
  }
  profile.espeak_variant = choose_variant(profile.gender, profile.pitch_hz);
  return profile;
}

}  // namespace parley::speech::tts
