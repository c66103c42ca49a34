#include "translate/apertium/pipeline_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <vector>

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

// Blocks SIGPIPE in this thread for the guard's lifetime, so writing to a pipeline that died
// yields EPIPE instead of killing the server; a SIGPIPE raised meanwhile is consumed unless one
// was already pending before. Per thread: no process-wide signal disposition is changed.
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
  }
  ~SigpipeBlock() {
    if (!was_pending_) {
      const timespec zero{};
      while (sigtimedwait(&set_, nullptr, &zero) > 0) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

 private:
  sigset_t set_{};
  sigset_t old_{};
  bool was_pending_ = false;
};

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

bool set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  return flags >= 0 && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

}  // namespace

Result<std::unique_ptr<PipelineProcess>> PipelineProcess::spawn(const std::string& mode_path) {
  // Everything the child needs is built before fork: after it only async-signal-safe calls.
  std::vector<std::string> args{"/bin/bash", "-c", kScript, "parley-apertium", mode_path};
  std::vector<std::string> env{"PATH=/usr/local/bin:/usr/bin:/bin", "LC_ALL=C.UTF-8"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  std::array<int, 2> in{-1, -1};
  std::array<int, 2> out{-1, -1};
  const auto close_all = [&] {
    for (auto* p : {&in, &out}) {
      close_fd((*p)[0]);
      close_fd((*p)[1]);
    }
  };
  if (::pipe2(in.data(), O_CLOEXEC) != 0 || ::pipe2(out.data(), O_CLOEXEC) != 0) {
    close_all();
    return fail(Errc::internal, "could not create pipes for the translation engine");
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    close_all();
    return fail(Errc::unavailable, "could not start the translation engine");
  }
  if (pid == 0) {
    // Own process group, so one kill reaches every stage.
    ::setpgid(0, 0);
    // Move the pipe ends above 2 first, so dup2 cannot clobber one of them when the server
    // runs with fd 0, 1 or 2 closed.
    const int child_in = ::fcntl(in[0], F_DUPFD_CLOEXEC, 10);
    const int child_out = ::fcntl(out[1], F_DUPFD_CLOEXEC, 10);
    const int null_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (child_in < 0 || child_out < 0 || null_fd < 0 || ::dup2(child_in, 0) < 0 ||
        ::dup2(child_out, 1) < 0 || ::dup2(null_fd, 2) < 0) {
      _exit(127);
    }
    // Every other descriptor (the server's sockets, database files) closes at exec.
    if (::syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */) != 0) {
      for (int fd = 3; fd < 4096; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(SIGPIPE, &dfl, nullptr);
    ::execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  // Also here, so that the group exists before any kill, whoever runs first.
  ::setpgid(pid, pid);
  close_fd(in[0]);
  close_fd(out[1]);
  std::unique_ptr<PipelineProcess> process(new PipelineProcess(pid, in[1], out[0]));
  if (!set_nonblocking(process->in_fd_) || !set_nonblocking(process->out_fd_)) {
    return fail(Errc::internal, "could not configure the translation engine pipes");
  }
  return process;
}

PipelineProcess::~PipelineProcess() {
  close_fd(in_fd_);
  close_fd(out_fd_);
  if (pid_ > 0 && !reaped_) {
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);  // in case setpgid lost a race with an early exit
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
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
  const SigpipeBlock no_sigpipe;
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
