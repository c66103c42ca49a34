#pragma once
// Estimates what the embedded engine can imitate of a speaker from reference audio: median pitch,
// speaking rate and (from the pitch) a gender and espeak-ng variant. An approximation by
// design: the API reports it as `approximate`, never as a clone.

#include <cstdint>
#include <span>

#include "core/error.hpp"
#include "speech/tts/synthesizer.hpp"

namespace parley::speech::tts {

/// Minimum amount of speech (energy-gated audio) the estimate needs.
inline constexpr double kMinReferenceSpeechSeconds = 3.0;

/// Analyses mono int16 `pcm` at `sample_rate` (8-192 kHz; at most 10 minutes are read):
/// - pitch_hz: median F0 (YIN over 40 ms frames, 60-400 Hz) of voiced frames;
/// - gender: male below 155 Hz, female above; unknown with under 1 s of pitched frames;
/// - speaking_rate_wpm: syllable nuclei (peaks of the energy envelope) per minute of speech,
///   divided by 1.5 syllables per word; 0 when it cannot be estimated;
/// - espeak_variant: an espeak-ng variant of that gender whose pitch is closest.
/// Errors: validation_failed "reference audio has too little speech" (under
/// kMinReferenceSpeechSeconds of speech), validation_failed for a bad sample rate.
/// Thread-safety: pure function.
Result<VoiceProfile> estimate_voice_profile(std::span<const std::int16_t> pcm, int sample_rate);

}  // namespace parley::speech::tts
