#pragma once
// Real audio for the audio-layer tests: Debian's pocketsphinx-testdata recording and files in
// every supported format made by the ffmpeg CLI, plus envelope measures to compare speech.
// Temp dirs, files, flite and ffmpeg come from the shared speech test support.

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "speech/support/speech_test_support.hpp"

namespace parley::speech::testing {

/// goforward.raw: "go forward ten meters", 16 kHz mono, ~2.8 s.
std::vector<std::int16_t> goforward();

/// Encodes 16 kHz mono `pcm` with ffmpeg: `-f s16le -ar 16000 -ac 1 -i in.raw <args> out.<ext>`
/// and returns the file's bytes.
std::string encode(std::span<const std::int16_t> pcm, const std::filesystem::path& dir,
                   const std::vector<std::string>& args, const std::string& ext);

/// RMS per `window` samples.
std::vector<double> rms_envelope(std::span<const std::int16_t> pcm, std::size_t window = 320);
/// Best Pearson correlation of two envelopes over lags within +-max_lag windows.
double envelope_similarity(std::span<const std::int16_t> a, std::span<const std::int16_t> b,
                           int max_lag = 10);

/// Milliseconds of 16 kHz samples.
inline std::int64_t ms_of(std::size_t samples) { return static_cast<std::int64_t>(samples) / 16; }

/// [first, last) ms of 20 ms frames no more than `db_below_peak` dB below the loudest frame.
std::pair<std::int64_t, std::int64_t> speech_bounds(std::span<const std::int16_t> pcm,
                                                    double db_below_peak = 35);

}  // namespace parley::speech::testing
