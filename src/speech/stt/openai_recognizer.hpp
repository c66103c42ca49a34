#pragma once
// Recognition through an OpenAI-compatible transcription service (`POST {base_url}/audio/
// transcriptions`: OpenAI's Whisper, or a self-hosted server speaking the same API).

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "outbound/http_client.hpp"
#include "speech/stt/recognizer.hpp"

namespace parley::speech::stt {

struct OpenAiOptions {
  /// Like OPENAI_BASE_URL for the official SDKs: includes the version, e.g.
  /// "https://api.openai.com/v1" (the default when empty). A trailing '/' is ignored.
  std::string base_url;
  /// Sent as `Authorization: Bearer <key>`; never logged nor put in an error message. Empty:
  /// start() fails with unavailable.
  std::string api_key;
  std::string model = "whisper-1";
  /// Deadline of one HTTP attempt.
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
  /// Extra attempts after a 429, a 500/502/503/504, a timeout or a refused connection.
  int max_retries = 2;
  /// Cap on any wait between attempts, also on a Retry-After the service asks for.
  std::chrono::milliseconds max_backoff{std::chrono::seconds(5)};
  /// First wait between attempts when the service gives no Retry-After; doubles each time.
  std::chrono::milliseconds initial_backoff{std::chrono::milliseconds(500)};
  /// Longest utterance uploaded; also capped so the WAV stays under the API's 25 MB file limit.
  std::chrono::seconds max_utterance{std::chrono::minutes(10)};
};

/// Waits between attempts. Injected so tests can observe or shorten waits.
using SleepFunction = std::function<void(std::chrono::milliseconds)>;

/// Buffers each utterance's PCM and uploads it as one WAV file at finish(); no partials.
/// Languages: Whisper's (ISO-639-1 primary subtags) plus "auto", for which the service detects
/// the language (asked for with response_format=verbose_json).
///
/// finish() errors: unavailable (API key rejected, service down after retries, unexpected
/// reply), timeout (every attempt timed out), rate_limited (still 429 after retries;
/// retry_after set), quota_exceeded (the account has no credit), validation_failed (the
/// service refused the request: its message), payload_too_large.
///
/// Thread-safety: start() may be called concurrently from any thread. Streams may outlive the
/// recognizer; `http` must outlive both.
class OpenAiRecognizer final : public SpeechRecognizer {
 public:
  /// `sleep` defaults to std::this_thread::sleep_for.
  OpenAiRecognizer(outbound::HttpClient& http, OpenAiOptions options, SleepFunction sleep = {});
  ~OpenAiRecognizer() override;
  OpenAiRecognizer(const OpenAiRecognizer&) = delete;
  OpenAiRecognizer& operator=(const OpenAiRecognizer&) = delete;

  std::string_view name() const noexcept override { return "openai"; }
  bool supports(std::string_view language) const noexcept override;
  bool gives_partials() const noexcept override { return false; }
  /// Errors: unsupported (not a Whisper language), unavailable (no API key configured).
  Result<std::unique_ptr<RecognitionStream>> start(std::string_view language) override;
  /// The vocabulary goes into Whisper's `prompt` ("Glossary: term, term, ..."), bounded.
  Result<std::unique_ptr<RecognitionStream>> start_biased(
      std::string_view language, std::span<const VocabularyTerm> vocabulary) override;

  struct Shared;

 private:
  std::shared_ptr<const Shared> shared_;
};

}  // namespace parley::speech::stt
