#pragma once
// A small client for the ElevenLabs HTTP API (text-to-speech and instant voice cloning),
// written from the OpenAPI description in shared/apis/elevenlabs. The API key travels only in
// the `xi-api-key` header and never appears in errors or logs.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "outbound/http_client.hpp"

namespace parley::speech::tts {

struct ElevenLabsOptions {
  std::string base_url = "https://api.elevenlabs.io";
  std::string api_key;
  std::string model_id = "eleven_multilingual_v2";
  std::string default_voice_id;
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};  ///< per attempt
  int max_retries = 2;  ///< extra attempts after a 429 or 5xx
  /// First wait between attempts when the service gives no Retry-After; doubles each time.
  std::chrono::milliseconds initial_backoff{std::chrono::milliseconds(250)};
  /// Cap on any wait between attempts, also on a Retry-After the service asks for.
  std::chrono::milliseconds max_backoff{std::chrono::seconds(5)};
  /// voice_settings sent with every text-to-speech request.
  double stability = 0.5;
  double similarity_boost = 0.75;
  double style = 0.0;
  bool use_speaker_boost = true;
};

/// One reference recording for voice cloning.
struct ReferenceFile {
  std::string filename;      ///< e.g. "sample.mp3" (sanitized before sending)
  std::string content_type;  ///< e.g. "audio/mpeg"
  std::string bytes;
};

/// Blocking (waits on the network and between retries): run it on the worker pool.
/// Thread-safety: safe to share if the HttpClient is (CurlHttpClient is).
///
/// Errors common to every call:
/// - unavailable: 401 ("ElevenLabs rejected the API key"; quota messages are passed on), 5xx
///   after the retries, network failures, unexpected replies;
/// - rate_limited (retry_after set): 429 after the retries;
/// - validation_failed: 400 / 422 with the service's message;
/// - timeout: no answer within options.timeout.
class ElevenLabsClient {
 public:
  ElevenLabsClient(outbound::HttpClient& http, ElevenLabsOptions options);

  const ElevenLabsOptions& options() const noexcept { return options_; }

  /// POST /v1/text-to-speech/{voice_id}?output_format=...; returns the audio bytes of that
  /// format (e.g. "mp3_44100_128", or raw s16le for "pcm_22050"). `language` (ISO 639-1, may be
  /// empty) is sent as language_code. Extra errors: unsupported (unknown voice: 404 or
  /// voice_not_found), validation_failed (empty voice id or text).
  Result<std::string> text_to_speech(std::string_view voice_id, std::string_view text,
                                     std::string_view language,
                                     std::string_view output_format = "mp3_44100_128");

  /// POST /v1/voices/add (multipart: name, files..., description?, remove_background_noise);
  /// returns the new voice_id. Extra errors: validation_failed (no files, empty name).
  Result<std::string> add_voice(std::string_view name, const std::vector<ReferenceFile>& files,
                                std::string_view description = {});

  /// DELETE /v1/voices/{voice_id}. Extra errors: not_found (unknown voice).
  Result<void> delete_voice(std::string_view voice_id);

 private:
  Result<outbound::HttpResponse> send_with_retries(outbound::HttpRequest request);

  outbound::HttpClient& http_;
  ElevenLabsOptions options_;
};

/// Turns an ElevenLabs error reply into an Error (exposed for tests).
Error elevenlabs_error(const outbound::HttpResponse& response);

}  // namespace parley::speech::tts
