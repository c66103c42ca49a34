#include "translate/apertium/pipeline_process.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <vector>

#include "core/child_process.hpp"

namespace parley::translate::apertium {
namespace {

using Clock = std::chrono::steady_clock;

// A translation is about as long as its source; far more output than this means the pipeline
// is out of step (or broken), not that the text grew.
constexpr std::size_t kMaxOutputBytes = 1 << 20;

// $1 is the mode file. The mode's stages use $1 for the generator's option (-n: no `*`/`#`
// unknown-word marks) and $2 for the tagger's (none), as the `apertium -u` script sets them.
constexpr const char* kScript =
    "cmd=\"$(apertium-wblank-mode -z \"$1\")\" && [ -n \"$cmd\" ] || exit 127\n"
    "set -- -n ''\n"
    "eval \"$cmd\"\n";

using core::close_fd;

}  // namespace

Result<std::unique_ptr<PipelineProcess>> PipelineProcess::spawn(const std::string& mode_path) {
  core::SpawnOptions options;
  options.argv = {"/bin/bash", "-c", kScript, "parley-apertium", mode_path};
  options.env = {"PATH=/usr/local/bin:/usr/bin:/bin", "LC_ALL=C.UTF-8"};
  // Own process group, so one kill reaches every stage.
  options.new_process_group = true;
  options.what = "the translation engine";
  auto child = core::spawn_child(options);
  if (!child) return child.error();
  return std::unique_ptr<PipelineProcess>(
      new PipelineProcess(child->pid, child->in_fd, child->out_fd));
}

PipelineProcess::~PipelineProcess() {
  close_fd(in_fd_);
  close_fd(out_fd_);
  if (pid_ > 0 && !reaped_) {
    core::kill_and_reap(pid_, /*group=*/true);
  } else if (pid_ > 0) {
    ::kill(-pid_, SIGKILL);  // bash is gone; stages still in the group are orphans
  }
}

bool PipelineProcess::is_usable() {
  if (broken_ || reaped_) return false;
  int status = 0;
  const pid_t done = ::waitpid(pid_, &status, WNOHANG);
  if (done == pid_) {
    reaped_ = true;
    broken_ = true;
    return false;
  }
  return true;
}

Result<std::string> PipelineProcess::round_trip(std::string_view payload,
                                                std::chrono::milliseconds timeout) {
  if (broken_) return fail(Errc::unavailable, "the translation engine stopped");
  const core::SigpipeGuard no_sigpipe;
  const auto until = Clock::now() + timeout;
  std::string output;
  std::size_t written = 0;
  std::array<char, 4096> buffer{};
  const auto broken = [this](Errc code, std::string message) {
    broken_ = true;
    return Error(code, std::move(message));
  };
  for (;;) {
    const auto nul = output.find('\0');
    if (nul != std::string::npos && written == payload.size()) {
      // Anything after the NUL belongs to no request: the pipeline is out of step.
      if (nul + 1 != output.size()) broken_ = true;
      output.resize(nul);
      return output;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
    if (left.count() <= 0) {
      return broken(Errc::timeout, "the translation engine did not answer in time");
    }
    std::array<pollfd, 2> fds{{{out_fd_, POLLIN, 0}, {in_fd_, POLLOUT, 0}}};
    const nfds_t count = written < payload.size() ? 2 : 1;
    const int ready = ::poll(fds.data(), count, static_cast<int>(left.count()));
    if (ready < 0) {
      if (errno == EINTR) continue;
      return broken(Errc::internal, "waiting for the translation engine failed");
    }
    if (count == 2 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
      const ssize_t n = ::write(in_fd_, payload.data() + written, payload.size() - written);
      if (n > 0) {
        written += static_cast<std::size_t>(n);
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        return broken(Errc::unavailable, "the translation engine stopped");
      }
    }
    if ((fds[0].revents & (POLLIN | POLLERR | POLLHUP)) != 0) {
      const ssize_t n = ::read(out_fd_, buffer.data(), buffer.size());
      if (n > 0) {
        output.append(buffer.data(), static_cast<std::size_t>(n));
        if (output.size() > kMaxOutputBytes) {
          return broken(Errc::internal, "the translation engine answered too much");
        }
      } else if (n == 0) {
        return broken(Errc::unavailable, "the translation engine stopped");
      } else if (errno != EAGAIN && errno != EINTR) {
        return broken(Errc::unavailable, "the translation engine stopped");
      }
    }
  }
}

}  // namespace parley::translate::apertium
