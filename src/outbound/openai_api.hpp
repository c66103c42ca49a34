#pragma once
// What every client of an OpenAI-compatible API needs (transcription, chat completions...):
// reading the error envelope without leaking the API key, Retry-After(-ms), and the retry loop
// with exponential backoff. Each engine keeps its own mapping of statuses to Parley errors.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "outbound/http_client.hpp"

namespace parley::outbound {

/// `text` with every occurrence of `secret` replaced by "***" (an OpenAI 401 quotes the key,
/// partly), cut to 300 characters: safe to pass on to a caller.
std::string scrub(std::string_view text, std::string_view secret);

/// The `error` object of an OpenAI error reply (`{"error": {"message", "code", "type"}}`);
/// fields missing or not strings are empty. `message` is scrubbed of `api_key`.
struct OpenAiError {
  std::string message;
  std::string code;
  std::string type;
};
OpenAiError openai_error(const HttpResponse& response, std::string_view api_key);

/// How long the service asks us to wait: retry-after-ms (OpenAI's, milliseconds) wins over
/// Retry-After (seconds; an HTTP-date is ignored: the backoff applies).
std::optional<std::chrono::milliseconds> retry_after(const HttpHeaders& headers);

/// Waits between attempts. Injected so tests can observe or shorten waits.
using SleepFunction = std::function<void(std::chrono::milliseconds)>;

struct RetryPolicy {
  /// Extra attempts after a retryable reply, a timeout or an unreachable service.
  int max_retries = 2;
  /// First wait when the service gives no Retry-After; doubles at each attempt.
  std::chrono::milliseconds initial_backoff{std::chrono::milliseconds(500)};
  /// Cap on any wait, also on a Retry-After the service asks for.
  std::chrono::milliseconds max_backoff{std::chrono::seconds(5)};
  /// Our own backoff (never the service's Retry-After) is drawn in [backoff/2, backoff], so
  /// clients that failed together do not all come back together.
  bool jitter = true;
  /// Which replies are worth another attempt (the caller's statuses: 429, 5xx...). Unset: none.
  std::function<bool(const HttpResponse&)> retryable;
  /// Called before every attempt, retries included (a client-side rate limit); an error ends
  /// the exchange with it.
  std::function<Result<void>()> before_attempt;
};

/// Sends `request` until a reply is not retryable or the retries run out, sleeping between
/// attempts (honouring Retry-After, capped by max_backoff). Returns the last reply, or the
/// last transport error (timeout and unavailable are retried, other errors end at once), or
/// before_attempt's error.
Result<HttpResponse> send_with_retries(HttpClient& http, const HttpRequest& request,
                                       const RetryPolicy& policy, const SleepFunction& sleep);

/// For a retryable reply returned after the last attempt: the wait the service asked for, or
/// the backoff that attempt would have used, capped by max_backoff (a Retry-After hint).
std::chrono::milliseconds next_wait(const HttpResponse& last, const RetryPolicy& policy);

}  // namespace parley::outbound
