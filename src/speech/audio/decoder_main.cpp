// parley-audio-decoder: the sandboxed half of audio decoding (SECURITY F44).
//
//   parley-audio-decoder --format webm --max-seconds 600 [--max-sample-rate 192000]
//                        [--max-channels 8]
//
// Reads encoded audio from stdin as it arrives (a blocking read inside FFmpeg's read callback
// is what lets a parent stream MediaRecorder chunks), writes raw s16le 16 kHz mono PCM to
// stdout after every decoded frame, and exits 0. On failure it writes exactly one line
// `<errc code> <message>` to stderr and exits 2. DecoderProcess starts it under rlimits with an
// empty environment; it opens no files itself.

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "speech/audio/decoder.hpp"
#include "speech/audio/ffmpeg.hpp"

namespace {

constexpr std::size_t kMaxAllocation = 64u << 20;

using parley::Errc;
using namespace parley::speech::audio;

// stdin, with everything read kept in memory so an MP4 whose index trails the data can seek
// back. Seeking forward reads (and keeps) more input; nothing is ever re-read from the fd.
class StdinSource final : public ByteSource {
 public:
  std::ptrdiff_t read(std::span<std::uint8_t> out) override {
    if (pos_ == data_.size()) {
      const auto got = fill(out.size());
      if (got <= 0) return got;
    }
    const std::size_t n = std::min(out.size(), data_.size() - pos_);
    std::memcpy(out.data(), data_.data() + pos_, n);
    pos_ += n;
    return static_cast<std::ptrdiff_t>(n);
  }

  bool seekable() const override { return true; }

  std::int64_t seek(std::int64_t offset, int whence) override {
    if (whence == AVSEEK_SIZE) return eof_ ? static_cast<std::int64_t>(data_.size()) : -1;
    // The end is only known once all of stdin has been read.
    while (whence == SEEK_END && !eof_) {
      if (fill(64 * 1024) < 0) return -1;
    }
    const std::int64_t target = ff::seek_position(offset, whence, static_cast<std::int64_t>(pos_),
                                                  static_cast<std::int64_t>(data_.size()));
    if (target < 0) return -1;
    while (static_cast<std::uint64_t>(target) > data_.size() && !eof_) {
      if (fill(64 * 1024) < 0) return -1;
    }
    if (static_cast<std::uint64_t>(target) > data_.size()) return -1;
    pos_ = static_cast<std::size_t>(target);
    return target;
  }

 private:
  // Blocks until some input arrives; returns bytes appended, 0 at EOF, -1 on error.
  std::ptrdiff_t fill(std::size_t want) {
    if (eof_) return 0;
    const std::size_t old = data_.size();
    data_.resize(old + std::max<std::size_t>(want, 4096));
    ssize_t got = 0;
    do {
      got = ::read(STDIN_FILENO, data_.data() + old, data_.size() - old);
    } while (got < 0 && errno == EINTR);
    data_.resize(old + static_cast<std::size_t>(std::max<ssize_t>(got, 0)));
    if (got == 0) eof_ = true;
    return got < 0 ? -1 : got;
  }

  std::vector<std::uint8_t> data_;
  std::size_t pos_ = 0;
  bool eof_ = false;
};

bool write_all(int fd, const void* data, std::size_t size) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

int report(Errc code, std::string_view message) {
  std::string line(parley::to_code(code));
  line += ' ';
  for (const char c : message) line += (c == '\n' || c == '\r') ? ' ' : c;
  line += '\n';
  write_all(STDERR_FILENO, line.data(), line.size());
  return 2;
}

bool parse_int(std::string_view text, long long min, long long max, long long& out) {
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc{} && ptr == end && out >= min && out <= max;
}

}  // namespace

int main(int argc, char** argv) {
  // FFmpeg logs to stderr, which carries exactly one error line to the parent.
  av_log_set_level(AV_LOG_QUIET);
  // Some demuxers allocate what a header claims (a WAV LIST chunk "of 2 GB") before reading
  // it. RLIMIT_AS catches that in production builds; this cap also holds under ASan, where
  // RLIMIT_AS cannot be set. No allocation of a legitimate audio decode comes near it.
  av_max_alloc(kMaxAllocation);

  InputFormat format = InputFormat::probe;
  DecodeLimits limits;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (i + 1 >= argc)
      return report(Errc::invalid_request, "missing value for " + std::string(flag));
    const std::string_view value = argv[++i];
    long long number = 0;
    if (flag == "--format") {
      auto parsed = parse_input_format(value);
      if (!parsed) return report(parsed.error().code, parsed.error().message);
      format = *parsed;
    } else if (flag == "--max-seconds" && parse_int(value, 1, 24 * 3600, number)) {
      limits.max_duration = std::chrono::seconds{number};
    } else if (flag == "--max-ms" && parse_int(value, 1, 24 * 3600 * 1000LL, number)) {
      limits.max_duration = std::chrono::milliseconds{number};
    } else if (flag == "--max-sample-rate" && parse_int(value, 8000, 768000, number)) {
      limits.max_sample_rate = static_cast<int>(number);
    } else if (flag == "--max-channels" && parse_int(value, 1, 64, number)) {
      limits.max_channels = static_cast<int>(number);
    } else {
      return report(Errc::invalid_request,
                    "bad argument " + std::string(flag) + " " + std::string(value));
    }
  }

  StdinSource source;
  const PcmSink sink = [](std::span<const std::int16_t> samples) {
    // Unbuffered write per frame: the parent sees audio as soon as it decodes.
    return write_all(STDOUT_FILENO, samples.data(), samples.size_bytes());
  };
  auto summary = decode_stream(source, format, limits, sink);
  if (!summary) return report(summary.error().code, summary.error().message);
  if (::close(STDOUT_FILENO) != 0) return report(Errc::internal, "could not close the output");
  return 0;
}
