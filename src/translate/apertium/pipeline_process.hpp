#pragma once
// One running Apertium pipeline: bash running the stages of a pair's mode file in null-flush
// mode (`apertium-wblank-mode -z PAIR.mode`, generator without unknown-word marks), the whole
// pipeline in its own process group. The `apertium -z` wrapper is not used: it hangs.
//
// Internal to the apertium module (ApertiumTranslator owns these).

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace parley::translate::apertium {

class PipelineProcess {
 public:
  /// Spawns the pipeline for `mode_path` (fork+execve of /bin/bash; a minimal environment; no
  /// inherited descriptors; stderr to /dev/null). Does not wait for it to load its
  /// dictionaries: the first round trip does. Errors: unavailable (fork failed), internal
  /// (pipes).
  static Result<std::unique_ptr<PipelineProcess>> spawn(const std::string& mode_path);

  /// Kills the whole process group (SIGKILL) and reaps bash.
  ~PipelineProcess();
  PipelineProcess(const PipelineProcess&) = delete;
  PipelineProcess& operator=(const PipelineProcess&) = delete;

  /// Writes `payload` (escaped text ending in "\n\0") and returns the output up to the next
  /// NUL, draining output while writing so neither side blocks. BLOCKING up to `timeout`.
  /// Errors: timeout, unavailable (the pipeline exited or closed a pipe). After any error the
  /// pipeline is unusable (is_usable() is false) and must be replaced.
  Result<std::string> round_trip(std::string_view payload, std::chrono::milliseconds timeout);

  /// False once a round trip failed or output arrived out of step, or once bash has exited
  /// (reaped here without blocking).
  bool is_usable();

  /// The process group id (= bash's pid): every stage is in it.
  pid_t process_group() const noexcept { return pid_; }

 private:
  PipelineProcess(pid_t pid, int in_fd, int out_fd) : pid_(pid), in_fd_(in_fd), out_fd_(out_fd) {}

  pid_t pid_ = -1;
  int in_fd_ = -1;
  int out_fd_ = -1;
  bool broken_ = false;
  bool reaped_ = false;
};

}  // namespace parley::translate::apertium
