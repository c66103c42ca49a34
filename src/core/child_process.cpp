#include "core/child_process.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace parley::core {
namespace {

bool set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  return flags >= 0 && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

}  // namespace

void close_fd(int& fd) noexcept {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

void kill_and_reap(pid_t pid, bool group) noexcept {
  if (pid <= 0) return;
  if (group) ::kill(-pid, SIGKILL);
  ::kill(pid, SIGKILL);  // also when the group is gone or setpgid lost a race with an exit
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

Result<SpawnedChild> spawn_child(const SpawnOptions& options) {
  if (options.argv.empty()) return fail(Errc::internal, "no program to start");
  // Everything the child needs is built before fork: after it only async-signal-safe calls
  // (the server is multi-threaded).
  std::vector<std::string> args = options.argv;
  std::vector<std::string> env = options.env;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  const auto& rlimits = options.rlimits;
  const bool group = options.new_process_group;
  const bool capture_stderr = options.capture_stderr;

  std::array<int, 2> in{-1, -1}, out{-1, -1}, err{-1, -1}, status_pipe{-1, -1};
  const auto close_all = [&] {
    for (auto* p : {&in, &out, &err, &status_pipe}) {
      close_fd((*p)[0]);
      close_fd((*p)[1]);
    }
  };
  if (::pipe2(in.data(), O_CLOEXEC) != 0 || ::pipe2(out.data(), O_CLOEXEC) != 0 ||
      (capture_stderr && ::pipe2(err.data(), O_CLOEXEC) != 0) ||
      ::pipe2(status_pipe.data(), O_CLOEXEC) != 0) {
    close_all();
    return fail(Errc::internal, "could not create pipes for " + options.what);
  }

  const pid_t pid = ::fork();
  if (pid < 0) {
    close_all();
    return fail(Errc::unavailable, "could not start " + options.what);
  }
  if (pid == 0) {
    if (group) ::setpgid(0, 0);
    // Move the pipe ends above 2 first, so dup2 cannot clobber one of them when the server
    // runs with fd 0, 1 or 2 closed.
    const int child_in = ::fcntl(in[0], F_DUPFD_CLOEXEC, 10);
    const int child_out = ::fcntl(out[1], F_DUPFD_CLOEXEC, 10);
    const int child_err = capture_stderr ? ::fcntl(err[1], F_DUPFD_CLOEXEC, 10)
                                         : ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (child_in < 0 || child_out < 0 || child_err < 0 || ::dup2(child_in, 0) < 0 ||
        ::dup2(child_out, 1) < 0 || ::dup2(child_err, 2) < 0) {
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
    for (const auto& [resource, limit] : rlimits) {
      ::setrlimit(static_cast<__rlimit_resource_t>(resource), &limit);
    }
    ::execve(argv[0], argv.data(), envp.data());
    const int code = errno;
    [[maybe_unused]] const auto ignored = ::write(status_pipe[1], &code, sizeof code);
    _exit(127);
  }

  // Also here, so that the group exists before any kill, whoever runs first.
  if (group) ::setpgid(pid, pid);
  close_fd(in[0]);
  close_fd(out[1]);
  close_fd(err[1]);
  close_fd(status_pipe[1]);
  SpawnedChild child{pid, in[1], out[0], err[0]};
  const auto abandon = [&] {
    close_fd(child.in_fd);
    close_fd(child.out_fd);
    close_fd(child.err_fd);
    kill_and_reap(child.pid, group);
  };
  // The status pipe closes at a successful exec; an errno arrives if execve failed.
  int exec_errno = 0;
  ssize_t got = 0;
  do {
    got = ::read(status_pipe[0], &exec_errno, sizeof exec_errno);
  } while (got < 0 && errno == EINTR);
  close_fd(status_pipe[0]);
  if (got > 0) {
    abandon();
    return fail(Errc::unavailable,
                "could not start " + options.what + ": " + std::strerror(exec_errno));
  }
  if (!set_nonblocking(child.in_fd) || !set_nonblocking(child.out_fd) ||
      (child.err_fd >= 0 && !set_nonblocking(child.err_fd))) {
    abandon();
    return fail(Errc::internal, "could not configure the pipes of " + options.what);
  }
  return child;
}

SigpipeGuard::SigpipeGuard() noexcept {
  sigemptyset(&set_);
  sigaddset(&set_, SIGPIPE);
  sigset_t pending;
  sigemptyset(&pending);
  sigpending(&pending);
  was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  pthread_sigmask(SIG_BLOCK, &set_, &old_);
}

SigpipeGuard::~SigpipeGuard() {
  if (!was_pending_) {
    const timespec zero{};
    while (sigtimedwait(&set_, nullptr, &zero) > 0) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old_, nullptr);
}

}  // namespace parley::core
