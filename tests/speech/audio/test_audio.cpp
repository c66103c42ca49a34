#include "test_audio.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace parley::speech::testing {

std::vector<std::int16_t> goforward() { return read_raw(GOFORWARD_RAW); }

std::string encode(std::span<const std::int16_t> pcm, const std::filesystem::path& dir,
                   const std::vector<std::string>& args, const std::string& ext) {
  const auto in = dir / "in.raw";
  const auto out = dir / ("out." + ext);
  write_file(in, to_bytes(pcm));
  std::vector<std::string> argv = {"-f", "s16le", "-ar", "16000", "-ac", "1", "-i", in.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back(out.string());
  ffmpeg(argv);
  return read_file(out);
}

std::vector<double> rms_envelope(std::span<const std::int16_t> pcm, std::size_t window) {
  std::vector<double> env;
  for (std::size_t i = 0; i + window <= pcm.size(); i += window) {
    double sum = 0;
    for (std::size_t j = i; j < i + window; ++j) sum += double(pcm[j]) * pcm[j];
    env.push_back(std::sqrt(sum / double(window)));
  }
  return env;
}

double envelope_similarity(std::span<const std::int16_t> a, std::span<const std::int16_t> b,
                           int max_lag) {
  const auto ea = rms_envelope(a);
  const auto eb = rms_envelope(b);
  double best = -1;
  for (int lag = -max_lag; lag <= max_lag; ++lag) {
    std::vector<double> x, y;
    for (std::size_t i = 0; i < ea.size(); ++i) {
      const auto j = static_cast<std::ptrdiff_t>(i) + lag;
      if (j < 0 || j >= static_cast<std::ptrdiff_t>(eb.size())) continue;
      x.push_back(ea[i]);
      y.push_back(eb[static_cast<std::size_t>(j)]);
    }
    if (x.size() < 10) continue;
    const double mx = std::accumulate(x.begin(), x.end(), 0.0) / double(x.size());
    const double my = std::accumulate(y.begin(), y.end(), 0.0) / double(y.size());
    double sxy = 0, sxx = 0, syy = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      sxy += (x[i] - mx) * (y[i] - my);
      sxx += (x[i] - mx) * (x[i] - mx);
      syy += (y[i] - my) * (y[i] - my);
    }
    if (sxx > 0 && syy > 0) best = std::max(best, sxy / std::sqrt(sxx * syy));
  }
  return best;
}

std::pair<std::int64_t, std::int64_t> speech_bounds(std::span<const std::int16_t> pcm,
                                                    double db_below_peak) {
  const auto env = rms_envelope(pcm);
  const double peak = env.empty() ? 0 : *std::max_element(env.begin(), env.end());
  const double threshold = peak * std::pow(10.0, -db_below_peak / 20.0);
  std::int64_t first = -1, last = -1;
  for (std::size_t i = 0; i < env.size(); ++i) {
    if (env[i] >= threshold) {
      if (first < 0) first = static_cast<std::int64_t>(i);
      last = static_cast<std::int64_t>(i);
    }
  }
  return {first * 20, (last + 1) * 20};
}

}  // namespace parley::speech::testing
