#include "tts_test_support.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include "support/child_process.hpp"

namespace parley::speech::tts::testing {

namespace {
std::map<std::string, std::string> child_env() {
  std::map<std::string, std::string> env;
  if (const char* p = std::getenv("PATH")) env["PATH"] = p;
  if (const char* h = std::getenv("HOME")) env["HOME"] = h;
  return env;
}
std::string which(const std::string& name) {
  for (const char* dir : {"/usr/bin", "/usr/local/bin", "/bin"}) {
    const auto candidate = std::filesystem::path(dir) / name;
    if (std::filesystem::exists(candidate)) return candidate.string();
  }
  return name;
}
}  // namespace

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "parley-tts-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

int run(const std::vector<std::string>& argv) {
  auto args = argv;
  args[0] = which(args[0]);
  return parley::testing::run_to_completion(args, child_env(), std::chrono::seconds(20)).exit_code;
}

Probe ffprobe(const std::filesystem::path& path) {
  const auto result = parley::testing::run_to_completion(
      {which("ffprobe"), "-v", "error", "-select_streams", "a:0", "-show_entries",
       "stream=codec_name,sample_rate,channels:format=duration", "-of", "default=nw=1",
       path.string()},
      child_env(), std::chrono::seconds(20));
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

Pcm decode_with_ffmpeg(const std::filesystem::path& path, int rate) {
  const auto out = path.string() + ".decoded.wav";
  const int code = run({"ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", path.string(),
                        "-ac", "1", "-ar", std::to_string(rate), "-c:a", "pcm_s16le", out});
  if (code != 0) return {};
  return read_wav(out);
}

Pcm read_wav(const std::filesystem::path& path) {
  const std::string data = read_file(path);
  Pcm pcm;
  if (data.size() < 12 || data.compare(0, 4, "RIFF") != 0 || data.compare(8, 4, "WAVE") != 0) {
    return pcm;
  }
  auto u16 = [&](std::size_t at) {
    return static_cast<unsigned>(static_cast<unsigned char>(data[at])) |
           static_cast<unsigned>(static_cast<unsigned char>(data[at + 1])) << 8;
  };
  auto u32 = [&](std::size_t at) { return u16(at) | u16(at + 2) << 16; };
  std::size_t pos = 12;
  unsigned channels = 1;
  while (pos + 8 <= data.size()) {
    const std::string id = data.substr(pos, 4);
    std::size_t size = u32(pos + 4);
    const std::size_t body = pos + 8;
    if (id == "fmt ") {
      channels = u16(body + 2);
      pcm.sample_rate = static_cast<int>(u32(body + 4));
    } else if (id == "data") {
      size = std::min(size, data.size() - body);
      const std::size_t frames = size / (2 * channels);
      pcm.samples.resize(frames);
      for (std::size_t i = 0; i < frames; ++i) {
        pcm.samples[i] = static_cast<std::int16_t>(u16(body + i * 2 * channels));
      }
      break;
    }
    pos = body + size + (size & 1);
  }
  return pcm;
}

EspeakSynthesizer& shared_espeak() {
  static std::unique_ptr<EspeakSynthesizer> instance = [] {
    auto created = EspeakSynthesizer::create();
    if (!created) throw std::runtime_error(created.error().message);
    return std::move(*created);
  }();
  return *instance;
}

Pcm sine(int rate, double seconds, double frequency, double amplitude) {
  Pcm pcm{rate, {}};
  const auto n = static_cast<std::size_t>(rate * seconds);
  pcm.samples.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    pcm.samples[i] = static_cast<std::int16_t>(
        std::lround(amplitude * std::sin(2 * M_PI * frequency * static_cast<double>(i) / rate)));
  }
  return pcm;
}

double zero_crossing_frequency(const Pcm& pcm) {
  std::size_t crossings = 0;
  for (std::size_t i = 1; i < pcm.samples.size(); ++i) {
    if ((pcm.samples[i - 1] < 0) != (pcm.samples[i] < 0)) ++crossings;
  }
  const double seconds = static_cast<double>(pcm.samples.size()) / pcm.sample_rate;
  return seconds > 0 ? static_cast<double>(crossings) / 2.0 / seconds : 0;
}

double rms(const Pcm& pcm) {
  double sum = 0;
  for (auto s : pcm.samples) sum += static_cast<double>(s) * s;
  return pcm.samples.empty() ? 0 : std::sqrt(sum / static_cast<double>(pcm.samples.size()));
}

}  // namespace parley::speech::tts::testing
