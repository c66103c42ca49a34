#pragma once
// Real audio for the audio-layer tests: Debian's pocketsphinx-testdata recording, sentences
// spoken by flite's slt voice, and files in every supported format made by the ffmpeg CLI.

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace parley::speech::audio::testing {

/// A fresh folder under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::string read_file(const std::filesystem::path& file);
void write_file(const std::filesystem::path& file, std::string_view bytes);
std::vector<std::int16_t> to_samples(std::string_view raw_s16le);
std::string to_bytes(std::span<const std::int16_t> samples);

/// Runs `argv` (absolute program path) to completion; throws unless it exits 0.
void run(const std::vector<std::string>& argv);

/// goforward.raw: "go forward ten meters", 16 kHz mono, ~2.8 s.
std::vector<std::int16_t> goforward();
/// `text` spoken by flite's slt voice, as 16 kHz mono PCM.
std::vector<std::int16_t> flite_speech(std::string_view text, const std::filesystem::path& dir);

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

}  // namespace parley::speech::audio::testing
