#pragma once
// What the server uses to decode untrusted audio: a `parley-audio-decoder` child process under
// rlimits (SECURITY F44), fed through pipes, so a decoder bug costs one child, not the server.
//
// The child is spawned with fork+execve (no shell), an empty environment (only ASAN_OPTIONS,
// UBSAN_OPTIONS and LSAN_OPTIONS pass through, for sanitizer builds), no inherited descriptors
// beyond its three pipes, and RLIMIT_CPU, RLIMIT_AS (not in sanitizer builds: ASan reserves
// terabytes of address space), RLIMIT_FSIZE=0, RLIMIT_NOFILE and RLIMIT_CORE=0.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "speech/audio/format.hpp"
#include "speech/audio/pcm.hpp"

namespace parley::speech::audio {

struct SandboxOptions {
  std::string decoder_path;  ///< path of the parley-audio-decoder executable
  DecodeLimits limits;
  std::chrono::seconds cpu_limit{60};           ///< RLIMIT_CPU of the child
  std::size_t memory_limit_bytes = 512u << 20;  ///< RLIMIT_AS; ignored in sanitizer builds
  /// Wall clock: for decode_sandboxed the whole decode; for DecoderProcess, each feed() or
  /// finish() call (a live stream may last longer than any one deadline).
  std::chrono::milliseconds deadline{std::chrono::seconds{120}};
  /// After writing a live chunk, feed() waits up to this long for the child's first output and
  /// then until it pauses, so a chunk's audio comes back with that chunk instead of with the
  /// next one (a quarter second later for MediaRecorder). 0 returns at once.
  std::chrono::milliseconds settle{40};
  /// Once output has started, this long without more means the child is done with the chunk
  /// (it decodes one in about a millisecond; a loaded machine may pause it longer, and the rest
  /// of that chunk then comes with the next feed).
  std::chrono::milliseconds settle_pause{3};
};

/// One running decoder child. Move-only; the destructor kills (SIGKILL) and reaps a child that
/// is still running. Not thread-safe: one thread at a time (calls block, so run them on a
/// worker pool). SIGPIPE is blocked in the calling thread while writing, so a child that dies
/// early never kills the server.
class DecoderProcess {
 public:
  /// Spawns the child for input in `format`. Errors: unavailable when the executable is
  /// missing or cannot be started, internal when pipes or fork fail.
  static Result<DecoderProcess> start(const SandboxOptions& options, InputFormat format);

  DecoderProcess(DecoderProcess&&) noexcept;
  DecoderProcess& operator=(DecoderProcess&&) noexcept;
  ~DecoderProcess();

  /// Writes `bytes` to the child (draining its output meanwhile, so it never deadlocks) and
  /// returns the 16 kHz PCM decoded so far and not yet returned. Errors: the child's own error
  /// (same Errc and message as decode_stream) if it has failed, timeout past the deadline
  /// (the child is then killed). After an error every later call returns the same error.
  Result<std::vector<std::int16_t>> feed(std::string_view bytes);

  /// Ends the input, reads the remaining output to EOF and reaps the child. Returns the PCM
  /// not yet returned, or the child's error; a child killed by a signal (CPU limit, crash) →
  /// validation_failed; an unexpected exit → internal; past the deadline → timeout.
  Result<std::vector<std::int16_t>> finish();

 private:
  friend Result<Pcm16> decode_sandboxed(const SandboxOptions&, std::string_view, InputFormat);
  struct State;
  explicit DecoderProcess(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

/// Decodes a whole file in a sandboxed child within options.deadline. Same errors as
/// DecoderProcess::start and finish.
Result<Pcm16> decode_sandboxed(const SandboxOptions& options, std::string_view file_bytes,
                               InputFormat format = InputFormat::probe);

}  // namespace parley::speech::audio
