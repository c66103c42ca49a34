#include "speech/stt/test_audio.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <stdexcept>

#include "support/child_process.hpp"

namespace parley::speech::stt::testing {
namespace {

std::map<std::string, std::string> tool_environment() {
  return {{"PATH", "/usr/bin:/bin"}, {"LANG", "C.UTF-8"}};
}

void run(const std::vector<std::string>& argv) {
  const auto result =
      parley::testing::run_to_completion(argv, tool_environment(), std::chrono::seconds(30));
  if (result.exit_code != 0) {
    throw std::runtime_error(argv.at(0) + " failed (" + std::to_string(result.exit_code) +
                             "): " + result.err);
  }
}

std::vector<std::string> words(std::string_view text) {
  std::string cleaned;
  for (const char c : text) {
    if (c >= 'A' && c <= 'Z') {
      cleaned.push_back(static_cast<char>(c - 'A' + 'a'));
    } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '\'') {
      cleaned.push_back(c);
    } else {
      cleaned.push_back(' ');
    }
  }
  std::istringstream in(cleaned);
  return {std::istream_iterator<std::string>(in), std::istream_iterator<std::string>()};
}

}  // namespace

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  path_ = std::filesystem::temp_directory_path() /
          ("parley-stt-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::vector<std::int16_t> read_raw(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::int16_t> samples(bytes.size() / 2);
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const auto lo = static_cast<unsigned char>(bytes[2 * i]);
    const auto hi = static_cast<unsigned char>(bytes[2 * i + 1]);
    samples[i] = static_cast<std::int16_t>(static_cast<std::uint16_t>(lo | (hi << 8)));
  }
  return samples;
}

void run_ffmpeg(const std::vector<std::string>& args) {
  std::vector<std::string> argv{FFMPEG_PATH, "-nostdin", "-loglevel", "error", "-y"};
  argv.insert(argv.end(), args.begin(), args.end());
  run(argv);
}

std::vector<std::int16_t> flite_speech(std::string_view text, const std::filesystem::path& dir) {
  static std::atomic<int> counter{0};
  const std::string stem = (dir / ("flite-" + std::to_string(counter++))).string();
  run({FLITE_PATH, "-voice", "slt", "-t", std::string(text), "-o", stem + ".wav"});
  run_ffmpeg({"-i", stem + ".wav", "-ar", "16000", "-ac", "1", "-f", "s16le", stem + ".raw"});
  return read_raw(stem + ".raw");
}

std::size_t word_errors(std::string_view reference, std::string_view hypothesis) {
  const auto ref = words(reference);
  const auto hyp = words(hypothesis);
  std::vector<std::size_t> row(hyp.size() + 1);
  for (std::size_t j = 0; j <= hyp.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= ref.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= hyp.size(); ++j) {
      const std::size_t above = row[j];
      row[j] =
          std::min({row[j] + 1, row[j - 1] + 1, diagonal + (ref[i - 1] == hyp[j - 1] ? 0U : 1U)});
      diagonal = above;
    }
  }
  return row[hyp.size()];
}

std::size_t word_count(std::string_view text) { return words(text).size(); }

double word_error_rate(std::string_view reference, std::string_view hypothesis) {
  const auto n = word_count(reference);
  return n == 0 ? (word_count(hypothesis) == 0 ? 0.0 : 1.0)
                : static_cast<double>(word_errors(reference, hypothesis)) / static_cast<double>(n);
}

}  // namespace parley::speech::stt::testing
