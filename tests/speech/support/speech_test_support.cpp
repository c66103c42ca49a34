#include "speech/support/speech_test_support.hpp"

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <stdexcept>

#include "support/child_process.hpp"

namespace parley::speech::testing {
namespace {

std::map<std::string, std::string> tool_environment() {
  std::map<std::string, std::string> env{{"PATH", "/usr/bin:/bin"}, {"LANG", "C.UTF-8"}};
  if (const char* home = std::getenv("HOME")) env["HOME"] = home;
  return env;
}

parley::testing::RunResult run_tool(const std::vector<std::string>& argv) {
  return parley::testing::run_to_completion(argv, tool_environment(), std::chrono::seconds(30));
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
  std::string pattern = (std::filesystem::temp_directory_path() / "parley-speech-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_file(const std::filesystem::path& file, std::string_view bytes) {
  std::ofstream out(file, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

std::vector<std::int16_t> to_samples(std::string_view raw) {
  std::vector<std::int16_t> samples(raw.size() / 2);
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const auto lo = static_cast<unsigned char>(raw[2 * i]);
    const auto hi = static_cast<unsigned char>(raw[2 * i + 1]);
    samples[i] = static_cast<std::int16_t>(static_cast<std::uint16_t>(lo | (hi << 8)));
  }
  return samples;
}

std::string to_bytes(std::span<const std::int16_t> samples) {
  return std::string(reinterpret_cast<const char*>(samples.data()), samples.size_bytes());
}

std::vector<std::int16_t> read_raw(const std::filesystem::path& file) {
  return to_samples(read_file(file));
}

void run(const std::vector<std::string>& argv) {
  const auto result = run_tool(argv);
  if (result.exit_code != 0) {
    throw std::runtime_error(argv.at(0) + " failed (" + std::to_string(result.exit_code) +
                             "): " + result.err);
  }
}

void ffmpeg(const std::vector<std::string>& args) {
  std::vector<std::string> argv{FFMPEG_PATH, "-nostdin", "-hide_banner",
                                "-loglevel", "error",    "-y"};
  argv.insert(argv.end(), args.begin(), args.end());
  run(argv);
}

std::vector<std::int16_t> ffmpeg_decode(const std::filesystem::path& file, int rate) {
  const std::string raw = file.string() + "." + std::to_string(rate) + ".raw";
  ffmpeg({"-i", file.string(), "-ac", "1", "-ar", std::to_string(rate), "-f", "s16le", raw});
  return read_raw(raw);
}

void flite(std::string_view text, std::string_view voice, const std::filesystem::path& wav) {
  run({FLITE_PATH, "-voice", std::string(voice), "-t", std::string(text), "-o", wav.string()});
}

std::vector<std::int16_t> flite_speech(std::string_view text, const std::filesystem::path& dir) {
  static std::atomic<int> counter{0};
  const auto wav = dir / ("flite-" + std::to_string(counter++) + ".wav");
  flite(text, "slt", wav);
  return ffmpeg_decode(wav, 16000);
}

Probe ffprobe(const std::filesystem::path& file) {
  const auto result =
      run_tool({FFPROBE_PATH, "-v", "error", "-select_streams", "a:0", "-show_entries",
                "stream=codec_name,sample_rate,channels:format=duration", "-of", "default=nw=1",
                file.string()});
  Probe probe;
  if (result.exit_code != 0) return probe;
  std::istringstream lines(result.out);
  std::string line;
  while (std::getline(lines, line)) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = line.substr(0, eq);
    const std::string value = line.substr(eq + 1);
    if (key == "codec_name") probe.codec = value;
    if (key == "sample_rate") probe.sample_rate = std::atoi(value.c_str());
    if (key == "channels") probe.channels = std::atoi(value.c_str());
    if (key == "duration") probe.duration = std::atof(value.c_str());
  }
  probe.ok = !probe.codec.empty();
  return probe;
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

}  // namespace parley::speech::testing
