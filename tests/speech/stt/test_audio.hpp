#pragma once
// Real speech for the recognizer tests: Debian's pocketsphinx-testdata recordings and sentences
// spoken at test time by flite's slt voice (resampled to 16 kHz mono by the ffmpeg CLI).

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace parley::speech::stt::testing {

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

/// Raw little-endian int16 samples of a file (throws if unreadable).
std::vector<std::int16_t> read_raw(const std::filesystem::path& file);

/// `text` spoken by flite's slt voice, as 16 kHz mono int16 PCM (throws if flite or ffmpeg fail).
std::vector<std::int16_t> flite_speech(std::string_view text, const std::filesystem::path& dir);

/// Runs ffmpeg with `args` (after -loglevel error -y); throws when it fails.
void run_ffmpeg(const std::vector<std::string>& args);

/// Word-level Levenshtein distance between `reference` and `hypothesis` after lower-casing and
/// dropping punctuation.
std::size_t word_errors(std::string_view reference, std::string_view hypothesis);
std::size_t word_count(std::string_view text);
/// word_errors / reference words.
double word_error_rate(std::string_view reference, std::string_view hypothesis);

}  // namespace parley::speech::stt::testing
