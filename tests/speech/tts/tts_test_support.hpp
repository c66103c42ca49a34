#pragma once
// Helpers for the TTS tests on top of the shared speech test support: WAV reading, the
// process-wide espeak-ng instance (only one may exist) and synthetic signals.

#include <filesystem>

#include "speech/support/speech_test_support.hpp"
#include "speech/tts/espeak_synthesizer.hpp"
#include "speech/tts/pcm.hpp"

namespace parley::speech::testing {

/// Decodes any audio file to mono s16 at `rate` with the ffmpeg CLI.
tts::Pcm decode_with_ffmpeg(const std::filesystem::path& path, int rate);

/// Reads a 16-bit PCM WAV (first channel) at its own rate.
tts::Pcm read_wav(const std::filesystem::path& path);

/// The one EspeakSynthesizer of the test process (espeak-ng state is process-wide).
tts::EspeakSynthesizer& shared_espeak();

tts::Pcm sine(int rate, double seconds, double frequency, double amplitude = 8000);

/// Dominant frequency estimated from zero crossings.
double zero_crossing_frequency(const tts::Pcm& pcm);

double rms(const tts::Pcm& pcm);

}  // namespace parley::speech::testing
