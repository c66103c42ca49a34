#include "speech/audio/decoder_process.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <thread>
#include <utility>

#include "core/child_process.hpp"

namespace parley::speech::audio {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif
#else
constexpr bool kAddressSanitizer = false;
#endif

constexpr std::size_t kMaxStderr = 4096;
constexpr rlim_t kChildMaxFiles = 32;
using Clock = std::chrono::steady_clock;

using core::close_fd;

// Maps the child's one-line `<errc code> <message>` back to an Error.
Error parse_child_error(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  const auto line_start = text.rfind('\n');
  if (line_start != std::string_view::npos) text.remove_prefix(line_start + 1);
  const auto space = text.find(' ');
  const std::string_view code = text.substr(0, space);
  const std::string_view message =
      space == std::string_view::npos ? std::string_view{} : text.substr(space + 1);
  for (int i = 0; i <= static_cast<int>(Errc::unsupported); ++i) {
    const auto errc = static_cast<Errc>(i);
    if (to_code(errc) == code && !message.empty()) return Error(errc, std::string(message));
  }
  return Error(Errc::internal, "audio decoder failed");
}

std::string seconds_text(std::chrono::milliseconds ms) {
  return std::to_string((ms.count() + 999) / 1000) + " s";
}

}  // namespace

struct DecoderProcess::State {
  pid_t pid = -1;
  int in_fd = -1;
  int out_fd = -1;
  int err_fd = -1;
  std::chrono::milliseconds deadline{};
  std::chrono::milliseconds settle{};
  std::chrono::milliseconds settle_pause{};
  std::string out_bytes;  // decoded bytes not yet returned (may end in half a sample)
  std::string err_text;   // first kMaxStderr bytes of the child's stderr
  bool out_eof = false;
  bool err_eof = false;
  bool input_broken = false;
  std::optional<Error> failed;
  bool reaped = false;

  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;

  ~State() {
    close_fd(in_fd);
    close_fd(out_fd);
    close_fd(err_fd);
    if (!reaped) core::kill_and_reap(pid);
  }

  void kill_child() {
    if (pid > 0 && !reaped) {
      core::kill_and_reap(pid);
      reaped = true;
    }
    close_fd(in_fd);
    close_fd(out_fd);
    close_fd(err_fd);
  }

  Error set_failed(Error error) {
    failed = error;
    return error;
  }

  Error timed_out() {
    kill_child();
    return set_failed(
        Error(Errc::timeout, "audio decoding took longer than " + seconds_text(deadline)));
  }

  // Reads whatever `fd` has now; returns false at EOF.
  bool drain(int& fd, std::string& into, std::size_t limit, bool& eof) {
    std::array<char, 16384> buffer{};
    while (true) {
      const ssize_t n = ::read(fd, buffer.data(), buffer.size());
      if (n > 0) {
        const auto keep =
            std::min(static_cast<std::size_t>(n), limit - std::min(limit, into.size()));
        into.append(buffer.data(), keep);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
      eof = true;  // 0 = EOF; other errors end the stream too
      close_fd(fd);
      return false;
    }
  }

  // Writes `input` while draining output, until all is written (and, with until_eof, until the
  // child closes stdout and stderr). Never blocks on one pipe while the other is full.
  Result<void> pump(std::string_view input, bool until_eof, Clock::time_point until) {
    std::size_t written = 0;
    while (true) {
      const bool want_write = !input_broken && in_fd >= 0 && written < input.size();
      if (out_eof && err_eof) return {};  // the child is done (or dead): nothing more to do
      if (!want_write && !until_eof) {
        if (out_fd >= 0) drain(out_fd, out_bytes, SIZE_MAX, out_eof);
        if (err_fd >= 0) drain(err_fd, err_text, kMaxStderr, err_eof);
        return {};
      }
      std::array<pollfd, 3> fds{};
      nfds_t count = 0;
      int write_slot = -1;
      int out_slot = -1;
      int err_slot = -1;
      if (want_write) {
        write_slot = static_cast<int>(count);
        fds[count++] = pollfd{in_fd, POLLOUT, 0};
      }
      if (!out_eof) {
        out_slot = static_cast<int>(count);
        fds[count++] = pollfd{out_fd, POLLIN, 0};
      }
      if (!err_eof) {
        err_slot = static_cast<int>(count);
        fds[count++] = pollfd{err_fd, POLLIN, 0};
      }
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
      if (left <= 0) return timed_out();
      const int ready =
          ::poll(fds.data(), count, static_cast<int>(std::min<long long>(left, INT_MAX)));
      if (ready < 0) {
        if (errno == EINTR) continue;
        kill_child();
        return set_failed(Error(Errc::internal, "audio decoder pipe failed"));
      }
      if (ready == 0) continue;
      if (out_slot >= 0 && fds[out_slot].revents != 0) drain(out_fd, out_bytes, SIZE_MAX, out_eof);
      if (err_slot >= 0 && fds[err_slot].revents != 0) drain(err_fd, err_text, kMaxStderr, err_eof);
      if (write_slot >= 0 && fds[write_slot].revents != 0) {
        const core::SigpipeGuard guard;
        const ssize_t n = ::write(in_fd, input.data() + written, input.size() - written);
        if (n > 0) {
          written += static_cast<std::size_t>(n);
        } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
          // EPIPE: the child stopped reading (finished early or failed); its exit tells which.
          input_broken = true;
          close_fd(in_fd);
          until_eof = true;
        }
      }
    }
  }

  // Waits until `until` for output to start, then collects it until the child pauses: the
  // child decodes a chunk in about a millisecond, so a short pause means it is done with it.
  void settle_output(Clock::time_point until) {
    const auto pause = std::max(settle_pause, std::chrono::milliseconds(1));
    const auto had = out_bytes.size();
    while (!out_eof && out_fd >= 0) {
      const auto now = Clock::now();
      if (now >= until) return;
      const auto wait = out_bytes.size() == had
                            ? std::chrono::duration_cast<std::chrono::milliseconds>(until - now)
                            : pause;
      std::array<pollfd, 2> fds{pollfd{out_fd, POLLIN, 0}, pollfd{err_fd, POLLIN, 0}};
      const nfds_t count = err_eof || err_fd < 0 ? 1 : 2;
      const int ready =
          ::poll(fds.data(), count, static_cast<int>(std::max<long long>(1, wait.count())));
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) return;
      if (fds[0].revents != 0) drain(out_fd, out_bytes, SIZE_MAX, out_eof);
      if (count == 2 && fds[1].revents != 0) drain(err_fd, err_text, kMaxStderr, err_eof);
    }
  }

  // Waits for the child to exit (it has closed its output) and maps its status.
  Result<void> reap(Clock::time_point until) {
    int status = 0;
    while (true) {
      const pid_t r = ::waitpid(pid, &status, WNOHANG);
      if (r == pid) break;
      if (r < 0 && errno != EINTR) {
        reaped = true;
        return set_failed(Error(Errc::internal, "audio decoder vanished"));
      }
      if (Clock::now() >= until) return timed_out();
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    reaped = true;
    close_fd(in_fd);
    close_fd(out_fd);
    close_fd(err_fd);
    if (WIFEXITED(status)) {
      if (WEXITSTATUS(status) == 0) return {};
      if (WEXITSTATUS(status) == 2) return set_failed(parse_child_error(err_text));
      return set_failed(Error(Errc::internal, "audio decoder failed (exit status " +
                                                  std::to_string(WEXITSTATUS(status)) + ")"));
    }
    if (WIFSIGNALED(status)) {
      const int sig = WTERMSIG(status);
      if (sig == SIGXCPU) {
        return set_failed(Error(Errc::validation_failed, "audio took too much CPU time to decode"));
      }
      if (sig == SIGKILL) {
        return set_failed(
            Error(Errc::validation_failed, "audio decoder was stopped at a resource limit"));
      }
      return set_failed(Error(
          Errc::validation_failed,
          "audio could not be decoded (decoder stopped by signal " + std::to_string(sig) + ")"));
    }
    return set_failed(Error(Errc::internal, "audio decoder failed"));
  }

  std::vector<std::int16_t> take_pcm() {
    const std::size_t whole = out_bytes.size() / 2 * 2;
    if (whole == 0) return {};
    std::vector<std::int16_t> pcm(whole / 2);
    // The child writes host-order s16 on the same machine.
    std::memcpy(pcm.data(), out_bytes.data(), whole);
    out_bytes.erase(0, whole);
    return pcm;
  }
};

DecoderProcess::DecoderProcess(std::unique_ptr<State> state) : state_(std::move(state)) {}
DecoderProcess::DecoderProcess(DecoderProcess&&) noexcept = default;
DecoderProcess& DecoderProcess::operator=(DecoderProcess&&) noexcept = default;
DecoderProcess::~DecoderProcess() = default;

Result<DecoderProcess> DecoderProcess::start(const SandboxOptions& options, InputFormat format) {
  if (options.decoder_path.empty() || ::access(options.decoder_path.c_str(), X_OK) != 0) {
    return fail(Errc::unavailable, "audio decoder is not available");
  }
  core::SpawnOptions spawn;
  spawn.argv = {options.decoder_path,
                "--format",
                std::string(to_string(format)),
                "--max-ms",
                std::to_string(std::max<std::int64_t>(1, options.limits.max_duration.count())),
                "--max-sample-rate",
                std::to_string(options.limits.max_sample_rate),
                "--max-channels",
                std::to_string(options.limits.max_channels)};
  for (const char* name : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"}) {
    if (const char* value = std::getenv(name)) spawn.env.push_back(std::string(name) + "=" + value);
  }
  const rlim_t cpu = static_cast<rlim_t>(std::max<std::int64_t>(1, options.cpu_limit.count()));
  spawn.rlimits.emplace_back(RLIMIT_CPU, rlimit{cpu, cpu + 1});  // SIGXCPU, SIGKILL 1 s later
  if (!kAddressSanitizer) {
    spawn.rlimits.emplace_back(RLIMIT_AS,
                               rlimit{options.memory_limit_bytes, options.memory_limit_bytes});
  }
  spawn.rlimits.emplace_back(RLIMIT_FSIZE, rlimit{0, 0});
  spawn.rlimits.emplace_back(RLIMIT_CORE, rlimit{0, 0});
  spawn.rlimits.emplace_back(RLIMIT_NOFILE, rlimit{kChildMaxFiles, kChildMaxFiles});
  spawn.capture_stderr = true;
  spawn.what = "the audio decoder";
  auto child = core::spawn_child(spawn);
  if (!child) return child.error();

  auto state = std::make_unique<State>();
  state->pid = child->pid;
  state->in_fd = child->in_fd;
  state->out_fd = child->out_fd;
  state->err_fd = child->err_fd;
  state->deadline = options.deadline;
  state->settle = options.settle;
  state->settle_pause = options.settle_pause;
  return DecoderProcess(std::move(state));
}

Result<std::vector<std::int16_t>> DecoderProcess::feed(std::string_view bytes) {
  State& s = *state_;
  if (s.failed) return *s.failed;
  if (s.reaped || s.in_fd < 0) {
    if (s.input_broken) return s.take_pcm();  // the child finished early; extra bytes dropped
    return fail(Errc::internal, "audio decoder input is already closed");
  }
  const auto until = Clock::now() + s.deadline;
  auto pumped = s.pump(bytes, false, until);
  if (!pumped) return pumped.error();
  s.settle_output(std::min(until, Clock::now() + s.settle));
  if (s.out_eof && s.err_eof) {
    auto reaped = s.reap(until);
    if (!reaped) return reaped.error();
  }
  return s.take_pcm();
}

Result<std::vector<std::int16_t>> DecoderProcess::finish() {
  State& s = *state_;
  if (s.failed) return *s.failed;
  if (s.reaped) return s.take_pcm();
  const auto until = Clock::now() + s.deadline;
  close_fd(s.in_fd);
  auto pumped = s.pump({}, true, until);
  if (!pumped) return pumped.error();
  auto reaped = s.reap(until);
  if (!reaped) return reaped.error();
  return s.take_pcm();
}

Result<Pcm16> decode_sandboxed(const SandboxOptions& options, std::string_view file_bytes,
                               InputFormat format) {
  const auto started = Clock::now();
  auto whole_file = options;
  whole_file.settle = std::chrono::milliseconds{0};  // finish() collects everything anyway
  auto process = DecoderProcess::start(whole_file, format);
  if (!process) return process.error();
  Pcm16 pcm;
  auto first = process->feed(file_bytes);
  if (!first) return first.error();
  pcm.samples = std::move(*first);
  // The deadline covers the whole decode: give finish() only what is left of it.
  const auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
  process->state_->deadline = std::max(std::chrono::milliseconds{1}, options.deadline - spent);
  auto rest = process->finish();
  if (!rest) return rest.error();
  pcm.samples.insert(pcm.samples.end(), rest->begin(), rest->end());
  return pcm;
}

}  // namespace parley::speech::audio
