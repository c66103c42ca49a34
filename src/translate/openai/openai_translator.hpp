#pragma once
// Translation through an OpenAI-compatible chat completions service (`POST {base_url}/chat/
// completions`: OpenAI, or any server speaking the same API), under client-side rate limits.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "outbound/http_client.hpp"
#include "translate/openai/request_budget.hpp"
#include "translate/translator.hpp"

namespace parley::translate {

struct OpenAiTranslatorOptions {
  /// Like OPENAI_BASE_URL for the official SDKs: includes the version, e.g.
  /// "https://api.openai.com/v1" (the default when empty). A trailing '/' is ignored.
  std::string base_url;
  /// Sent as `Authorization: Bearer <key>`; never logged nor put in an error message. Empty:
  /// translate() fails with unavailable.
  std::string api_key;
  std::string model = "gpt-4o-mini";
  /// Deadline of one HTTP attempt.
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
  /// Extra attempts after a 429, a 408/409, a 5xx, a timeout or a refused connection.
  int max_retries = 3;
  /// First wait between attempts when the service gives no Retry-After; doubles each time, and
  /// each wait is drawn in [backoff/2, backoff] (jitter: workers that failed together do not
  /// all come back together).
  std::chrono::milliseconds initial_backoff{std::chrono::milliseconds(500)};
  /// Cap on any wait between attempts, also on a Retry-After the service asks for.
  std::chrono::milliseconds max_backoff{std::chrono::seconds(20)};
  /// The account's limits for the model (0: none). Ignored when a shared budget is given.
  std::uint32_t requests_per_minute = 500;
  std::uint64_t tokens_per_minute = 200'000;
  /// The period of the two limits above: a minute, shortened only by tests.
  std::chrono::milliseconds rate_window{std::chrono::minutes(1)};
  /// Longest a translate() call waits for the rate limits before failing with rate_limited.
  std::chrono::milliseconds max_budget_wait{std::chrono::seconds(30)};
};

/// Waits between attempts. Injected so tests can observe or shorten waits.
using RetrySleepFunction = std::function<void(std::chrono::milliseconds)>;

/// Languages: ISO 639-1 codes with an English name (the prompt names languages in English,
/// which models follow best); BCP 47 tags are reduced to their primary subtag ("pt-BR" → "pt").
/// An unknown source ("", "auto", "und", "detect") lets the model detect it; the result's source
/// is then "und".
///
/// translate() errors: unsupported (pair), validation_failed (empty, too long or not UTF-8
/// text; the service refused the request; the output was cut at the model's length limit; the
/// content filter or the model refused), unavailable (no API key, key rejected, service down
/// after retries, malformed reply: never the source text instead), timeout (every attempt timed
/// out), rate_limited (our budget or the service's, after retries; retry_after set),
/// quota_exceeded (the account has no credit).
///
/// Thread-safety: translate() may be called concurrently from any number of workers; `http`
/// (and a shared `budget`) must outlive the translator.
class OpenAiTranslator final : public Translator {
 public:
  /// `sleep` (between attempts) defaults to std::this_thread::sleep_for. `budget`, when given,
  /// is shared with other engines using the same key and model; otherwise one is made from
  /// the options' limits.
  OpenAiTranslator(outbound::HttpClient& http, OpenAiTranslatorOptions options,
                   RetrySleepFunction sleep = {}, std::shared_ptr<RequestBudget> budget = {});
  ~OpenAiTranslator() override;
  OpenAiTranslator(const OpenAiTranslator&) = delete;
  OpenAiTranslator& operator=(const OpenAiTranslator&) = delete;

  std::string_view name() const noexcept override { return "openai"; }
  bool supports(std::string_view source, std::string_view target) const override;
  Result<Translation> translate(std::string_view text, std::string_view source,
                                std::string_view target) override;
  /// The glossary's fixed translations go into the system prompt (glossary_instructions).
  Result<Translation> translate_with_terms(std::string_view text, std::string_view source,
                                           std::string_view target,
                                           std::span<const GlossaryEntry> terms) override;

  /// The rate limiter in use (to share it, or to show how long a request would wait).
  RequestBudget& budget() noexcept { return *budget_; }

  /// English name of a supported language ("ca" → "Catalan"), or empty when unknown.
  static std::string_view language_name(std::string_view code) noexcept;
  /// Every supported ISO 639-1 code, sorted.
  static std::vector<std::string_view> languages();
  /// The system prompt sent for a pair (exposed for tests and for the docs).
  static std::string system_prompt(std::string_view source, std::string_view target);
  /// What the system prompt adds for a room glossary (empty without terms).
  static std::string glossary_instructions(std::span<const GlossaryEntry> terms);
  /// Tokens a request is expected to use before its reply says: bytes/4 for the prompt and for
  /// an answer of about the same size, plus per-message overhead.
  static std::size_t estimate_tokens(std::size_t system_bytes, std::size_t text_bytes) noexcept;

 private:
  Result<Translation> run(std::string_view text, std::string_view source, std::string_view target,
                          std::span<const GlossaryEntry> terms);
  struct State;
  std::unique_ptr<State> state_;
  std::shared_ptr<RequestBudget> budget_;
};

}  // namespace parley::translate
