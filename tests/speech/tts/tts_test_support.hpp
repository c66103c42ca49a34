#pragma once
// Helpers for the TTS tests: temp dirs, ffprobe, WAV reading, the process-wide espeak-ng
// instance (only one may exist) and synthetic signals.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "speech/tts/espeak_synthesizer.hpp"
#include "speech/tts/pcm.hpp"

namespace parley::speech::tts::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const noexcept { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

void write_file(const std::filesystem::path& path, const std::string& bytes);
std::string read_file(const std::filesystem::path& path);

struct Probe {
  bool ok = false;
  std::string codec;
  int sample_rate = 0;
  int channels = 0;
  double duration = 0;  // seconds
};
/// Runs the ffprobe CLI on a file.
Probe ffprobe(const std::filesystem::path& path);

/// Runs a command (argv[0] looked up in PATH); returns its exit code.
int run(const std::vector<std::string>& argv);

/// Decodes any audio file to mono s16 at `rate` with the ffmpeg CLI.
Pcm decode_with_ffmpeg(const std::filesystem::path& path, int rate);

/// Reads a 16-bit PCM WAV (first channel).
Pcm read_wav(const std::filesystem::path& path);

/// The one EspeakSynthesizer of the test process (espeak-ng state is process-wide).
EspeakSynthesizer& shared_espeak();

Pcm sine(int rate, double seconds, double frequency, double amplitude = 8000);

/// Dominant frequency estimated from zero crossings.
double zero_crossing_frequency(const Pcm& pcm);

double rms(const Pcm& pcm);

}  // namespace parley::speech::tts::testing
