#pragma once
// Helpers shared by the speech tests (audio, stt, tts): temp dirs, raw PCM files, real speech
// spoken by flite, the ffmpeg/ffprobe CLIs as an independent reference, and word error rates.
// Each test folder adds its own helpers to the same namespace.

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace parley::speech::testing {

/// A fresh folder under the system temp dir, removed with everything in it on destruction.
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

/// A whole file's bytes; throws if it cannot be read.
std::string read_file(const std::filesystem::path& file);
/// Replaces a file's contents; throws if it cannot be written.
void write_file(const std::filesystem::path& file, std::string_view bytes);

/// Little-endian int16 samples of raw s16le bytes (an odd last byte is dropped).
std::vector<std::int16_t> to_samples(std::string_view raw_s16le);
/// The bytes of native-endian samples.
std::string to_bytes(std::span<const std::int16_t> samples);
/// to_samples(read_file(file)).
std::vector<std::int16_t> read_raw(const std::filesystem::path& file);

/// Runs `argv` (argv[0] an absolute path) to completion; throws, with its stderr, unless it
/// exits 0 within 30 s.
void run(const std::vector<std::string>& argv);

/// Runs the ffmpeg CLI: `ffmpeg -nostdin -hide_banner -loglevel error -y <args>`; throws if it
/// fails.
void ffmpeg(const std::vector<std::string>& args);
/// Any audio file decoded by the ffmpeg CLI to mono int16 PCM at `rate` Hz (written next to it
/// as `<file>.<rate>.raw`); throws if ffmpeg fails.
std::vector<std::int16_t> ffmpeg_decode(const std::filesystem::path& file, int rate);

/// Writes `text` spoken by one of flite's voices ("slt", "kal", "awb", "rms") to `wav`, at the
/// voice's own rate; throws if flite fails.
void flite(std::string_view text, std::string_view voice, const std::filesystem::path& wav);
/// `text` spoken by flite's slt voice, as 16 kHz mono PCM (files kept in `dir`).
std::vector<std::int16_t> flite_speech(std::string_view text, const std::filesystem::path& dir);

/// What the ffprobe CLI says of a file's first audio stream; ok is false when it finds none.
struct Probe {
  bool ok = false;
  std::string codec;
  int sample_rate = 0;
  int channels = 0;
  double duration = 0;  // seconds
};
Probe ffprobe(const std::filesystem::path& file);

/// Word-level Levenshtein distance between `reference` and `hypothesis` after lower-casing and
/// dropping punctuation.
std::size_t word_errors(std::string_view reference, std::string_view hypothesis);
std::size_t word_count(std::string_view text);
/// word_errors / reference words.
double word_error_rate(std::string_view reference, std::string_view hypothesis);

}  // namespace parley::speech::testing
