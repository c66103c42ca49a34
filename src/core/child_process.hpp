#pragma once
// Spawning helper programs (audio decoder, translation pipelines) from a multi-threaded server:
// fork+execve with pipes, a minimal environment, no inherited descriptors, optional rlimits and
// process group, and a report when execve itself fails. The protocol over the pipes (poll
// loops, framing) stays with each caller.

#include <sys/resource.h>
#include <sys/types.h>

#include <csignal>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace parley::core {

struct SpawnOptions {
  /// argv[0] is the executable's path (execve: no PATH search).
  std::vector<std::string> argv;
  /// Exactly the child's environment, as "NAME=value" entries.
  std::vector<std::string> env;
  /// Applied in the child before execve: {RLIMIT_*, limit}.
  std::vector<std::pair<int, rlimit>> rlimits;
  /// The child leads its own process group (pgid = pid), so one kill(-pid) reaches everything
  /// it starts.
  bool new_process_group = false;
  /// true: the child's stderr is a pipe (err_fd); false: /dev/null.
  bool capture_stderr = false;
  /// Names the program in error messages, e.g. "the audio decoder".
  std::string what = "the child process";
};

/// A started child: its pid and the parent's (non-blocking, close-on-exec) pipe ends. The
/// caller owns them: close the fds, and kill_and_reap() the pid unless it reaped it already.
struct SpawnedChild {
  pid_t pid = -1;
  int in_fd = -1;   ///< the child's stdin
  int out_fd = -1;  ///< the child's stdout
  int err_fd = -1;  ///< the child's stderr, or -1 when not captured
};

/// Starts the child. Between fork and execve the child only makes async-signal-safe calls: it
/// moves its pipe ends above 2 (so a server running with 0, 1 or 2 closed cannot clobber them),
/// marks every other descriptor close-on-exec, resets the signal mask and SIGPIPE's
/// disposition, applies the rlimits, then execs. Returns once execve succeeded or failed.
///
/// Errors: internal (pipes could not be made or configured), unavailable (fork failed, or
/// execve failed: the message carries its errno text). No child is left behind on error.
Result<SpawnedChild> spawn_child(const SpawnOptions& options);

/// SIGKILLs `pid` and waits for it (EINTR-safe). With `group`, the whole process group too.
void kill_and_reap(pid_t pid, bool group = false) noexcept;

/// Closes `fd` if open and sets it to -1.
void close_fd(int& fd) noexcept;

/// Blocks SIGPIPE in this thread for the guard's lifetime, so writing to a pipe whose reader
/// died yields EPIPE instead of killing the server; a SIGPIPE raised meanwhile is consumed
/// unless one was already pending before. Per thread: no process-wide disposition changes.
class SigpipeGuard {
 public:
  SigpipeGuard() noexcept;
  ~SigpipeGuard();
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t set_{};
  sigset_t old_{};
  bool was_pending_ = false;
};

}  // namespace parley::core
