#pragma once
// Runs a program as a child process with a chosen environment and captured stdout/stderr, so
// tests can drive the real `parley` binary: read its log lines, signal it, collect its exit code.

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace parley::testing {

class ChildProcess {
 public:
  /// Starts `argv[0]` with exactly `env` as its environment. Throws if it cannot start.
  ChildProcess(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env);
  ~ChildProcess();  // kills the child if it still runs
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  /// The next line of stdout, or nullopt at end of output or timeout.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  /// Reads stdout lines until one contains `needle`; returns it, or nullopt.
  std::optional<std::string> wait_for_line(const std::string& needle,
                                           std::chrono::milliseconds timeout);
  /// Everything written to stderr so far (after exit: all of it).
  std::string read_stderr();

  void signal(int sig);
  /// Exit status (or 128+signal), or nullopt if it did not exit within timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string out_buffer_;
  std::string err_buffer_;
  std::optional<int> status_;
};

/// Runs a program to completion and returns {exit code, stdout, stderr}.
struct RunResult {
  int exit_code;
  std::string out;
  std::string err;
};
RunResult run_to_completion(const std::vector<std::string>& argv,
                            const std::map<std::string, std::string>& env,
                            std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace parley::testing
