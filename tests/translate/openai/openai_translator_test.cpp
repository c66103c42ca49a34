// The OpenAI translation engine against tests/fakes/openai.mjs, a local fake of the API written
// from shared/apis/openai/openapi.subset.json: requests checked field by field, error replies
// scripted through the fake's control API, rate limits measured by the fake's timestamps.

#include "translate/openai/openai_translator.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/fake_service.hpp"

namespace parley::translate {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

constexpr const char* kKey = "sk-parley-test-0123456789abcdef";

using parley::testing::SleepRecorder;

class OpenAiTranslatorTest : public parley::testing::FakeServiceTest {
 protected:
  static void SetUpTestSuite() {
    start_fake({NODE_BINARY, FAKE_OPENAI}, {{"PATH", "/usr/bin:/bin"}, {"FAKE_OPENAI_KEY", kKey}});
  }
  static void TearDownTestSuite() { stop_fake(); }

  static OpenAiTranslatorOptions options() {
    OpenAiTranslatorOptions o;
    o.base_url = origin() + "/v1";
    o.api_key = kKey;
    o.timeout = 5s;
    o.initial_backoff = 10ms;
    o.max_retries = 2;
    return o;
  }

  static void script_completion(const std::string& text) {
    script(json::serialize(json::object{{"completion", text}}));
  }
  static void script_reply(const json::value& body, int status = 200) {
    script(json::serialize(json::object{
        {"responses", json::array{json::object{{"status", status}, {"body", body}}}}}));
  }
  static json::object request_body(const json::value& recorded) {
    return json::parse(recorded.at("body").as_string()).as_object();
  }

  // A reply as OpenAI sends it, with `content` and `finish_reason`.
  static json::object completion(json::value content, std::string_view finish_reason = "stop") {
    return json::object{
        {"id", "chatcmpl-1"},
        {"object", "chat.completion"},
        {"created", 1700000000},
        {"model", "gpt-4o-mini"},
        {"choices",
         json::array{json::object{{"index", 0},
                                  {"message", json::object{{"role", "assistant"},
                                                           {"content", std::move(content)},
                                                           {"refusal", nullptr}}},
                                  {"logprobs", nullptr},
                                  {"finish_reason", finish_reason}}}},
        {"usage",
         json::object{{"prompt_tokens", 5}, {"completion_tokens", 2}, {"total_tokens", 7}}},
    };
  }
};

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

TEST_F(OpenAiTranslatorTest, SendsTheRequestFieldByField) {
  script_completion("  Hola, \"amigo\".\n¿Qué tal? 👋 \n");
  OpenAiTranslator translator(*http_, options());
  const std::string text = "Hello, \"friend\".\nHow are you? 👋 <b>&amp;</b> \\ {\"json\": 1}";
  auto result = translator.translate(text, "en", "es");
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->text, "Hola, \"amigo\".\n¿Qué tal? 👋");
  EXPECT_EQ(result->source, "en");
  EXPECT_EQ(result->target, "es");
  EXPECT_EQ(result->engine, "openai");
  EXPECT_TRUE(result->via.empty());

  const auto recorded = requests();
  ASSERT_EQ(recorded.size(), 1U);
  const auto& request = recorded[0].as_object();
  EXPECT_EQ(request.at("method").as_string(), "POST");
  EXPECT_EQ(request.at("path").as_string(), "/v1/chat/completions");
  const auto& headers = request.at("headers").as_object();
  EXPECT_EQ(headers.at("authorization").as_string(), std::string("Bearer ") + kKey);
  EXPECT_EQ(headers.at("content-type").as_string(), "application/json");

  const auto body = request_body(recorded[0]);
  EXPECT_EQ(body.at("model").as_string(), "gpt-4o-mini");
  ASSERT_TRUE(body.at("temperature").is_number());
  EXPECT_EQ(body.at("temperature").to_number<double>(), 0.0);
  EXPECT_FALSE(body.contains("stream"));
  const auto& messages = body.at("messages").as_array();
  ASSERT_EQ(messages.size(), 2U);
  EXPECT_EQ(messages[0].at("role").as_string(), "system");
  EXPECT_EQ(messages[1].at("role").as_string(), "user");
  const std::string system(messages[0].at("content").as_string());
  EXPECT_TRUE(contains(system, "from English into Spanish")) << system;
  EXPECT_TRUE(contains(system, "ONLY the translation")) << system;
  EXPECT_EQ(system, OpenAiTranslator::system_prompt("en", "es"));
  EXPECT_EQ(messages[1].at("content").as_string(), text) << "the text is sent verbatim";
}

TEST_F(OpenAiTranslatorTest, ModelTagsAndUnknownSource) {
  auto o = options();
  o.model = "gpt-4.1";
  o.base_url += "/";
  OpenAiTranslator translator(*http_, o);
  auto result = translator.translate("Bon dia", "CA-es", "pt-BR");
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->text, "This is the fake completion.");
  EXPECT_EQ(result->source, "ca");
  EXPECT_EQ(result->target, "pt");
  result = translator.translate("Bon dia", "auto", "en");
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->source, "und");

  const auto recorded = requests();
  ASSERT_EQ(recorded.size(), 2U);
  EXPECT_EQ(recorded[0].at("path").as_string(), "/v1/chat/completions");
  auto body = request_body(recorded[0]);
  EXPECT_EQ(body.at("model").as_string(), "gpt-4.1");
  std::string system(body.at("messages").as_array()[0].at("content").as_string());
  EXPECT_TRUE(contains(system, "from Catalan into Portuguese")) << system;
  body = request_body(recorded[1]);
  system = std::string(body.at("messages").as_array()[0].at("content").as_string());
  EXPECT_TRUE(contains(system, "Detect the language")) << system;
  EXPECT_TRUE(contains(system, "into English")) << system;
}

TEST_F(OpenAiTranslatorTest, QuotesAddedByTheModelAreRemoved) {
  OpenAiTranslator translator(*http_, options());
  script_completion("\"Hola\"");
  auto result = translator.translate("Hello", "en", "es");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->text, "Hola");
  script_completion("“Bon dia”");
  result = translator.translate("Good morning", "en", "ca");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->text, "Bon dia");
  // A quoted source keeps its quotes; two quotations are not one quoted text.
  script_completion("\"Hola\"");
  result = translator.translate("\"Hello\"", "en", "es");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->text, "\"Hola\"");
  script_completion("\"Sí\" y \"no\"");
  result = translator.translate("Yes and no", "en", "es");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->text, "\"Sí\" y \"no\"");
}

TEST_F(OpenAiTranslatorTest, RateLimitHonoursRetryAfterThenSucceeds) {
  script(R"({"responses": [{"status": 429, "headers": {"retry-after": "1"},
             "body": {"error": {"message": "Rate limit reached for requests", "type": "requests",
                                "param": null, "code": "rate_limit_exceeded"}}}]})");
  script_completion("Hola");
  OpenAiTranslator translator(*http_, options());  // the real clock: the wait is measured
  const auto started = std::chrono::steady_clock::now();
  auto result = translator.translate("Hello", "en", "es");
  const auto elapsed = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->text, "Hola");
  EXPECT_EQ(requests().size(), 2U);
  EXPECT_GE(elapsed, 950ms);
  EXPECT_LT(elapsed, 4s);
}

TEST_F(OpenAiTranslatorTest, RetryAfterMsWinsAndWaitsAreCapped) {
  script(
      R"({"responses": [{"status": 429, "headers": {"retry-after-ms": "250", "retry-after": "1"}},
                           {"status": 429, "headers": {"retry-after": "60"}}]})");
  auto o = options();
  o.max_backoff = 2s;
  SleepRecorder sleeps;
  OpenAiTranslator translator(*http_, o, sleeps.function());
  auto result = translator.translate("Hello", "en", "es");
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(sleeps.waits, (std::vector<std::chrono::milliseconds>{250ms, 2s}));
  EXPECT_EQ(requests().size(), 3U);
}

TEST_F(OpenAiTranslatorTest, PersistentRateLimitIsRateLimitedWithRetryAfter) {
  script(R"({"responses": [{"status": 429, "headers": {"retry-after": "3"}},
                           {"status": 429, "headers": {"retry-after": "3"}},
                           {"status": 429, "headers": {"retry-after": "3"}}]})");
  SleepRecorder sleeps;
  OpenAiTranslator translator(*http_, options(), sleeps.function());
  auto result = translator.translate("Hello", "en", "es");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::rate_limited);
  EXPECT_EQ(result.error().retry_after, 3s);
  EXPECT_EQ(requests().size(), 3U);  // 1 + max_retries
  EXPECT_EQ(sleeps.waits.size(), 2U);
}

TEST_F(OpenAiTranslatorTest, QuotaExhaustedIsNotRetried) {
  script(
      R"({"responses": [{"status": 429, "body": {"error": {"message": "You exceeded your current quota",
             "type": "insufficient_quota", "param": null, "code": "insufficient_quota"}}}]})");
  SleepRecorder sleeps;
  OpenAiTranslator translator(*http_, options(), sleeps.function());
  auto result = translator.translate("Hello", "en", "es");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::quota_exceeded);
  EXPECT_EQ(requests().size(), 1U);
  EXPECT_TRUE(sleeps.waits.empty());
}

TEST_F(OpenAiTranslatorTest, ServerErrorThenSuccessIsRetriedWithJitteredBackoff) {
  script(R"({"responses": [{"status": 500}, {"status": 503}]})");
  script_completion("Hola");
  SleepRecorder sleeps;
  OpenAiTranslator translator(*http_, options(), sleeps.function());
  auto result = translator.translate("Hello", "en", "es");
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->text, "Hola");
  EXPECT_EQ(requests().size(), 3U);
  ASSERT_EQ(sleeps.waits.size(), 2U);
  // Equal jitter: each wait in [backoff/2, backoff], the backoff doubling from 10 ms.
  EXPECT_GE(sleeps.waits[0], 5ms);
  EXPECT_LE(sleeps.waits[0], 10ms);
  EXPECT_GE(sleeps.waits[1], 10ms);
  EXPECT_LE(sleeps.waits[1], 20ms);
}

TEST_F(OpenAiTranslatorTest, JitterSpreadsTheWaits) {
  auto o = options();
  o.initial_backoff = 1000ms;
  o.max_retries = 1;
  SleepRecorder sleeps;
  OpenAiTranslator translator(*http_, o, sleeps.function());
  for (int i = 0; i < 12; ++i) {
    script(R"({"responses": [{"status": 502}]})");
    ASSERT_TRUE(translator.translate("Hello", "en", "es"));
  }
  ASSERT_EQ(sleeps.waits.size(), 12U);
  const auto [low, high] = std::minmax_element(sleeps.waits.begin(), sleeps.waits.end());
  EXPECT_GE(*low, 500ms);
  EXPECT_LE(*high, 1000ms);
  EXPECT_GT(*high - *low, 20ms) << "12 draws from [500, 1000] ms are not all the same";
}

TEST_F(OpenAiTranslatorTest, PersistentServerErrorIsUnavailable) {
  script(R"({"responses": [{"status": 500}, {"status": 502}, {"status": 500}, {"status": 500}]})");
  SleepRecorder sleeps;
  OpenAiTranslator translator(*http_, options(), sleeps.function());
  auto result = translator.translate("Hello", "en", "es");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::unavailable);
  EXPECT_TRUE(contains(result.error().message, "HTTP 500")) << result.error().message;
  EXPECT_EQ(requests().size(), 3U);
  EXPECT_EQ(sleeps.waits.size(), 2U);
}

TEST_F(OpenAiTranslatorTest, SlowServiceTimesOut) {
  script(R"({"responses": [{"delay_ms": 1500}]})");
  auto o = options();
  o.timeout = 300ms;
  o.max_retries = 0;
  OpenAiTranslator translator(*http_, o);
  const auto started = std::chrono::steady_clock::now();
  auto result = translator.translate("Hello", "en", "es");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1400ms);
}

TEST_F(OpenAiTranslatorTest, TimeoutThenSuccessIsRetried) {
  script(R"({"responses": [{"delay_ms": 1000}]})");
  script_completion("Hola");
  auto o = options();
  o.timeout = 300ms;
  SleepRecorder sleeps;
  OpenAiTranslator translator(*http_, o, sleeps.function());
  auto result = translator.translate("Hello", "en", "es");
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->text, "Hola");
  EXPECT_EQ(sleeps.waits.size(), 1U);
}

TEST_F(OpenAiTranslatorTest, MalformedRepliesAreErrorsNeverTheSourceText) {
  SleepRecorder sleeps;
  OpenAiTranslator translator(*http_, options(), sleeps.function());
  struct Case {
    std::string name;
    json::value body;
    Errc code;
    std::string message;
  };
  json::object no_message = completion("x");
  no_message["choices"].as_array()[0].as_object().erase("message");
  json::object refusal = completion(nullptr);
  refusal["choices"].as_array()[0].as_object()["message"].as_object()["refusal"] =
      "I can't help with that.";
  const std::vector<Case> cases = {
      {"non-JSON", json::string("<html>Bad gateway</html>"), Errc::unavailable, "not a JSON"},
      {"not an object", json::array{1, 2}, Errc::unavailable, "not a JSON object"},
      {"no choices", json::object{{"id", "x"}}, Errc::unavailable, "no choices"},
      {"empty choices", json::object{{"choices", json::array{}}}, Errc::unavailable, "no choices"},
      {"no message", no_message, Errc::unavailable, "no message"},
      {"null content", completion(nullptr), Errc::unavailable, "no content"},
      {"numeric content", completion(42), Errc::unavailable, "no content"},
      {"empty content", completion(""), Errc::unavailable, "empty translation"},
      {"blank content", completion(" \n\t "), Errc::unavailable, "empty translation"},
      {"length", completion("Hola, qué", "length"), Errc::validation_failed, "too long"},
      {"content filter", completion("", "content_filter"), Errc::validation_failed,
       "content filter"},
      {"tool call", completion("x", "tool_calls"), Errc::unavailable, "tool_calls"},
      {"refusal", refusal, Errc::validation_failed, "refused"},
  };
  for (const auto& c : cases) {
    fake_->reset();
    script_reply(c.body);
    auto result = translator.translate("Hello there", "en", "es");
    ASSERT_FALSE(result) << c.name << ": " << result->text;
    EXPECT_EQ(result.error().code, c.code) << c.name;
    EXPECT_TRUE(contains(result.error().message, c.message))
        << c.name << ": " << result.error().message;
    EXPECT_FALSE(contains(result.error().message, "Hello there")) << c.name;
    EXPECT_EQ(requests().size(), 1U) << c.name << ": a malformed reply is not retried";
  }
  EXPECT_TRUE(sleeps.waits.empty());
}

TEST_F(OpenAiTranslatorTest, WrongKeyIsUnavailableWithoutRetryNorLeak) {
  auto o = options();
  o.api_key = "sk-wrong-key-that-must-not-leak-42";
  SleepRecorder sleeps;
  OpenAiTranslator translator(*http_, o, sleeps.function());
  auto result = translator.translate("Hello", "en", "es");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::unavailable);
  EXPECT_EQ(result.error().message, "OpenAI rejected the API key");
  EXPECT_EQ(requests().size(), 1U);
  EXPECT_TRUE(sleeps.waits.empty());
}

TEST_F(OpenAiTranslatorTest, BadRequestIsValidationFailedWithTheScrubbedMessage) {
  script(
      std::string(R"({"responses": [{"status": 400, "body": {"error": {"message": "Bad key )") +
      kKey +
      R"( in messages", "type": "invalid_request_error", "param": "messages", "code": null}}}]})");
  SleepRecorder sleeps;
  OpenAiTranslator translator(*http_, options(), sleeps.function());
  auto result = translator.translate("Hello", "en", "es");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::validation_failed);
  EXPECT_EQ(result.error().message, "Bad key *** in messages");
  EXPECT_EQ(requests().size(), 1U);
  EXPECT_TRUE(sleeps.waits.empty());
}

TEST_F(OpenAiTranslatorTest, OtherRefusalsAreUnavailableWithTheServiceMessage) {
  script(R"({"responses": [{"status": 404, "body": {"error": {"message":
      "The model `gpt-9` does not exist or you do not have access to it.",
      "type": "invalid_request_error", "param": null, "code": "model_not_found"}}}]})");
  OpenAiTranslator translator(*http_, options());
  auto result = translator.translate("Hello", "en", "es");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::unavailable);
  EXPECT_TRUE(contains(result.error().message, "HTTP 404")) << result.error().message;
  EXPECT_TRUE(contains(result.error().message, "gpt-9")) << result.error().message;
}

TEST_F(OpenAiTranslatorTest, UnreachableServiceIsUnavailableAfterRetries) {
  auto o = options();
  o.base_url = "http://127.0.0.1:9/v1";  // the discard port: nothing listens there
  SleepRecorder sleeps;
  OpenAiTranslator translator(*http_, o, sleeps.function());
  auto result = translator.translate("Hello", "en", "es");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::unavailable);
  EXPECT_EQ(sleeps.waits.size(), 2U);
}

TEST_F(OpenAiTranslatorTest, BadInputsSendNothing) {
  OpenAiTranslator translator(*http_, options());
  const auto expect_error = [&](std::string_view text, std::string_view source,
                                std::string_view target, Errc code) {
    auto result = translator.translate(text, source, target);
    ASSERT_FALSE(result) << text.substr(0, 20) << " " << source << "→" << target;
    EXPECT_EQ(result.error().code, code) << result.error().message;
    EXPECT_FALSE(result.error().message.empty());
  };
  expect_error("", "en", "es", Errc::validation_failed);
  expect_error(" \n\t", "en", "es", Errc::validation_failed);
  expect_error(std::string(kMaxTranslationBytes + 1, 'a'), "en", "es", Errc::validation_failed);
  expect_error("caf\xC3", "en", "es", Errc::validation_failed);       // truncated sequence
  expect_error("\xC0\xAF", "en", "es", Errc::validation_failed);      // overlong '/'
  expect_error("\xED\xA0\x80", "en", "es", Errc::validation_failed);  // a surrogate
  expect_error("\xFF", "en", "es", Errc::validation_failed);
  expect_error("Hello", "en", "en", Errc::unsupported);
  expect_error("Hello", "en-GB", "EN", Errc::unsupported);
  expect_error("Hello", "en", "tlh", Errc::unsupported);
  expect_error("Hello", "xx", "es", Errc::unsupported);
  expect_error("Hello", "en", "", Errc::unsupported);
  expect_error("Hello", "en", "auto", Errc::unsupported);
  auto unsupported = translator.translate("Hello", "en", "x\n\x01y");
  ASSERT_FALSE(unsupported);
  EXPECT_TRUE(contains(unsupported.error().message, "'x??y'")) << unsupported.error().message;
  EXPECT_EQ(requests().size(), 0U);

  // Valid multi-byte text passes, up to the limit exactly.
  std::string longest;
  while (longest.size() + 4 <= kMaxTranslationBytes) longest += "\xF0\x9F\x91\x8B";  // 👋
  longest.append(kMaxTranslationBytes - longest.size(), 'a');
  ASSERT_EQ(longest.size(), kMaxTranslationBytes);
  EXPECT_TRUE(translator.translate(longest, "en", "es"));

  auto o = options();
  o.api_key.clear();
  OpenAiTranslator unconfigured(*http_, o);
  auto result = unconfigured.translate("Hello", "en", "es");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::unavailable);
  EXPECT_TRUE(contains(result.error().message, "OPENAI_API_KEY"));
  EXPECT_EQ(requests().size(), 1U);
}

TEST_F(OpenAiTranslatorTest, LanguagesAndPairs) {
  OpenAiTranslator translator(*http_, options());
  EXPECT_EQ(translator.name(), "openai");
  EXPECT_EQ(OpenAiTranslator::language_name("ca"), "Catalan");
  EXPECT_EQ(OpenAiTranslator::language_name("zh"), "Chinese");
  EXPECT_EQ(OpenAiTranslator::language_name("xx"), "");
  EXPECT_EQ(OpenAiTranslator::language_name("CA"), "") << "codes are lower-case";
  const auto codes = OpenAiTranslator::languages();
  EXPECT_GT(codes.size(), 100U);
  EXPECT_TRUE(std::is_sorted(codes.begin(), codes.end()));
  for (const auto code : codes) {
    EXPECT_EQ(code.size(), 2U) << code;
    EXPECT_FALSE(OpenAiTranslator::language_name(code).empty()) << code;
  }
  for (const auto& [s, t] : std::vector<std::pair<std::string, std::string>>{{"en", "es"},
                                                                             {"es", "ca"},
                                                                             {"ja", "uk"},
                                                                             {"", "fr"},
                                                                             {"auto", "de"},
                                                                             {"und", "it"},
                                                                             {"detect", "ko"},
                                                                             {"pt-BR", "en"},
                                                                             {"zh-Hant", "en"},
                                                                             {"en", "sr-Latn"}}) {
    EXPECT_TRUE(translator.supports(s, t)) << s << "→" << t;
  }
  for (const auto& [s, t] : std::vector<std::pair<std::string, std::string>>{{"en", "en"},
                                                                             {"en-US", "en-GB"},
                                                                             {"en", ""},
                                                                             {"en", "auto"},
                                                                             {"xx", "en"},
                                                                             {"en", "eng"},
                                                                             {"english", "es"},
                                                                             {"e", "es"},
                                                                             {"e1", "es"},
                                                                             {"en", "zz"}}) {
    EXPECT_FALSE(translator.supports(s, t)) << s << "→" << t;
  }
}

TEST_F(OpenAiTranslatorTest, ConcurrentTranslationsAllSucceed) {
  script_completion("Hola");
  OpenAiTranslator translator(*http_, options());
  std::vector<std::thread> workers;
  std::mutex mutex;
  int ok = 0;
  for (int t = 0; t < 6; ++t) {
    workers.emplace_back([&] {
      for (int i = 0; i < 3; ++i) {
        auto result = translator.translate("Hello", "en", "es");
        std::lock_guard lock(mutex);
        if (result && result->text == "Hola") ++ok;
      }
    });
  }
  for (auto& w : workers) w.join();
  EXPECT_EQ(ok, 18);
  EXPECT_EQ(requests().size(), 18U);
}

// What the fake saw: the arrival times of its chat completion requests, sorted.
std::vector<std::int64_t> arrivals(const json::array& recorded) {
  std::vector<std::int64_t> out;
  for (const auto& r : recorded) {
    if (r.at("path").as_string() == "/v1/chat/completions") {
      out.push_back(r.at("received_at").to_number<std::int64_t>());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST_F(OpenAiTranslatorTest, RequestsPerWindowHoldAtTheService) {
  constexpr std::uint32_t kPerWindow = 3;
  constexpr std::int64_t kWindowMs = 1000;
  auto o = options();
  o.requests_per_minute = kPerWindow;
  o.tokens_per_minute = 0;
  o.rate_window = std::chrono::milliseconds(kWindowMs);
  OpenAiTranslator translator(*http_, o);
  std::vector<std::thread> workers;
  std::atomic<int> ok = 0;
  for (int t = 0; t < 4; ++t) {
    workers.emplace_back([&] {
      for (int i = 0; i < 2; ++i) {
        if (translator.translate("Hello", "en", "es")) ++ok;
      }
    });
  }
  for (auto& w : workers) w.join();
  EXPECT_EQ(ok, 8);
  const auto at = arrivals(requests());
  ASSERT_EQ(at.size(), 8U);
  // At most kPerWindow requests in any window, as the fake measured (a request may reach it a
  // few ms after admission, so the window checked is slightly shorter).
  for (std::size_t i = 0; i + kPerWindow < at.size(); ++i) {
    EXPECT_GE(at[i + kPerWindow] - at[i], kWindowMs - 50) << "requests " << i << ".." << i + 3;
  }
  // 8 requests at 3 per window: the last one cannot come before two windows have passed.
  EXPECT_GE(at.back() - at.front(), 2 * kWindowMs - 50);
}

TEST_F(OpenAiTranslatorTest, TokensPerWindowHoldAtTheService) {
  auto o = options();
  o.requests_per_minute = 0;
  o.tokens_per_minute = 1;  // every request is larger: one per window
  o.rate_window = 400ms;
  OpenAiTranslator translator(*http_, o);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(translator.translate("Hello", "en", "es"));
  const auto at = arrivals(requests());
  ASSERT_EQ(at.size(), 3U);
  EXPECT_GE(at[1] - at[0], 350);
  EXPECT_GE(at[2] - at[1], 350);
}

TEST_F(OpenAiTranslatorTest, BudgetPastTheDeadlineIsRateLimitedWithoutARequest) {
  auto o = options();
  o.requests_per_minute = 1;
  o.max_budget_wait = 100ms;
  OpenAiTranslator translator(*http_, o);
  ASSERT_TRUE(translator.translate("Hello", "en", "es"));
  const auto started = std::chrono::steady_clock::now();
  auto result = translator.translate("Hello", "en", "es");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::rate_limited);
  EXPECT_GT(result.error().retry_after, 55s);
  EXPECT_LE(result.error().retry_after, 60s);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s) << "refused at once, not after waiting";
  EXPECT_EQ(requests().size(), 1U);
}

TEST_F(OpenAiTranslatorTest, UsageFromTheReplyCorrectsTheTokenEstimate) {
  const std::string text = "Hello, how are you today?";
  const std::size_t estimate = OpenAiTranslator::estimate_tokens(
      OpenAiTranslator::system_prompt("en", "es").size(), text.size());
  ASSERT_GT(estimate, 7U);
  auto o = options();
  o.requests_per_minute = 0;
  o.tokens_per_minute = 10 * estimate;
  OpenAiTranslator translator(*http_, o);
  script_reply(completion("Hola, ¿cómo estás hoy?"));  // usage.total_tokens: 7
  ASSERT_TRUE(translator.translate(text, "en", "es"));
  // 7 tokens are charged, not the estimate.
  EXPECT_EQ(translator.budget().wait_time(10 * estimate - 7), 0ms);
  EXPECT_GT(translator.budget().wait_time(10 * estimate - 6), 0ms);
}

TEST_F(OpenAiTranslatorTest, ABudgetCanBeSharedBetweenEngines) {
  auto budget = std::make_shared<RequestBudget>(BudgetLimits{2, 0, std::chrono::minutes(1)});
  auto o = options();
  o.max_budget_wait = 50ms;
  OpenAiTranslator a(*http_, o, {}, budget);
  OpenAiTranslator b(*http_, o, {}, budget);
  EXPECT_EQ(&a.budget(), budget.get());
  ASSERT_TRUE(a.translate("Hello", "en", "es"));
  ASSERT_TRUE(b.translate("Hello", "en", "ca"));
  auto result = a.translate("Hello", "en", "fr");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::rate_limited);
  EXPECT_EQ(requests().size(), 2U);
}

}  // namespace
}  // namespace parley::translate
