#pragma once
// Speech-to-text engines behind one interface. Engines are BLOCKING (CPU or network) and know
// nothing of HTTP requests from browsers or Socket.IO: the caller runs them on the worker pool
// (core/worker_pool.hpp) and feeds them 16 kHz mono int16 PCM (decoding and voice activity
// detection happen before, in speech/audio).

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace parley::speech::stt {

/// The sample rate every engine takes: 16 kHz, mono, signed 16-bit, native endianness.
inline constexpr int kSampleRate = 16000;

struct Transcript {
  std::string text;
  /// BCP47-ish primary language subtag of the text, e.g. "en"; "und" when the engine could not
  /// tell.
  std::string language;
};

/// A term recognition should expect (a room glossary's), and how it sounds when its spelling
/// does not say (a respelling in ordinary words: "Kubrix" -> "cube ricks").
struct VocabularyTerm {
  std::string term;
  std::optional<std::string> pronunciation;
};

/// One utterance being recognized. Not thread-safe: one thread at a time (the caller serializes
/// per stream). A stream may outlive the recognizer that started it.
class RecognitionStream {
 public:
  virtual ~RecognitionStream() = default;
  /// Feeds audio. Returns a new partial hypothesis when it changed and the engine gives partials
  /// (nullopt otherwise). BLOCKING (CPU).
  /// Errors: payload_too_large (the utterance exceeds the engine's length limit),
  /// validation_failed (the stream is already finished), internal (the engine failed).
  virtual Result<std::optional<std::string>> accept(std::span<const std::int16_t> pcm16k) = 0;
  /// Ends the utterance and returns the final text ("" when nothing was recognized, never
  /// invented text). BLOCKING (CPU or network). Called once; a second call fails with
  /// validation_failed.
  virtual Result<Transcript> finish() = 0;
};

/// Thread-safety: every member may be called concurrently from any thread.
class SpeechRecognizer {
 public:
  virtual ~SpeechRecognizer() = default;
  /// "pocketsphinx", "openai".
  virtual std::string_view name() const noexcept = 0;
  /// Whether `language` (a BCP47 tag such as "en-US", or "auto" where the engine detects the
  /// language) can be recognized; only the primary subtag counts, case-insensitively.
  virtual bool supports(std::string_view language) const noexcept = 0;
  virtual bool gives_partials() const noexcept = 0;
  /// Starts one utterance in `language`.
  /// Errors: unsupported (language not supported: the message names the language and the
  /// engine), busy (no decoder free: bounded, retry_after set), unavailable (models missing /
  /// service misconfigured).
  virtual Result<std::unique_ptr<RecognitionStream>> start(std::string_view language) = 0;
  /// Starts one utterance biased toward `vocabulary` (a room glossary's terms) where the engine
  /// allows (the OpenAI-compatible one puts them in Whisper's `prompt`; pocketsphinx adds words
  /// it does not know to its dictionary). Default: start(language), unbiased.
  virtual Result<std::unique_ptr<RecognitionStream>> start_biased(
      std::string_view language, std::span<const VocabularyTerm> vocabulary) {
    (void)vocabulary;
    return start(language);
  }
  /// Gets ready for `streams` simultaneous streams ahead of time (an embedded engine loads its
  /// models), so that the first speakers do not wait for it. BLOCKING; a no-op by default.
  virtual Result<void> prepare(std::size_t /*streams*/) { return {}; }
};

/// The primary subtag of a BCP47 tag, lower-cased: "en-US" -> "en", "zh_Hant_TW" -> "zh".
/// Returns "" for an empty tag or one whose primary subtag is not 2-8 ASCII letters.
std::string primary_language(std::string_view tag);

/// `tag` as it may appear in an error message: at most 35 characters, anything but printable
/// ASCII replaced by '?' (the tag comes from a client).
std::string displayable_language(std::string_view tag);

}  // namespace parley::speech::stt
