// The OpenAI-compatible engine against tests/fakes/openai.mjs, a local fake of the API written
// from shared/apis/openai/openapi.subset.json: requests checked field by field, error replies
// scripted through the fake's control API.

#include "speech/stt/openai_recognizer.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/base64.hpp"
#include "support/fake_service.hpp"

namespace parley::speech::stt {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

constexpr const char* kKey = "sk-parley-test-0123456789abcdef";

std::vector<std::int16_t> tone(std::size_t samples) {
  std::vector<std::int16_t> out(samples);
  for (std::size_t i = 0; i < samples; ++i) {
    out[i] = static_cast<std::int16_t>(8000 * std::sin(static_cast<double>(i) * 0.1) +
                                       static_cast<double>(i % 7));
  }
  return out;
}

using parley::testing::SleepRecorder;

class OpenAiRecognizerTest : public parley::testing::FakeServiceTest {
 protected:
  static void SetUpTestSuite() {
    start_fake({NODE_BINARY, FAKE_OPENAI}, {{"PATH", "/usr/bin:/bin"}, {"FAKE_OPENAI_KEY", kKey}});
  }
  static void TearDownTestSuite() { stop_fake(); }

  static OpenAiOptions options() {
    OpenAiOptions o;
    o.base_url = origin() + "/v1";
    o.api_key = kKey;
    o.timeout = 5s;
    o.initial_backoff = 10ms;
    return o;
  }

  static Result<Transcript> transcribe(OpenAiRecognizer& recognizer, std::string_view language,
                                       const std::vector<std::int16_t>& pcm) {
    auto stream = recognizer.start(language);
    if (!stream) return stream.error();
    for (std::size_t at = 0; at < pcm.size(); at += 1600) {
      auto partial = (*stream)->accept(
          std::span(pcm).subspan(at, std::min<std::size_t>(1600, pcm.size() - at)));
      if (!partial) return partial.error();
      EXPECT_FALSE(*partial) << "the OpenAI engine gives no partials";
    }
    return (*stream)->finish();
  }

  static const json::object* part(const json::object& request, std::string_view name) {
    for (const auto& p : request.at("parts").as_array()) {
      if (p.as_object().at("name").as_string() == name) return &p.as_object();
    }
    return nullptr;
  }

  static std::string text_of(const json::object& request, std::string_view name) {
    const auto* p = part(request, name);
    return p ? std::string(p->at("text").as_string()) : std::string("<missing>");
  }
};

std::uint32_t le32(const std::string& b, std::size_t at) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(b[at])) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 1])) << 8 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 2])) << 16 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 3])) << 24;
}
std::uint16_t le16(const std::string& b, std::size_t at) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(b[at]) |
                                    static_cast<unsigned char>(b[at + 1]) << 8);
}

TEST_F(OpenAiRecognizerTest, SendsTheUtteranceFieldByField) {
  script(R"({"transcript": "  Go forward ten meters. "})");
  OpenAiRecognizer recognizer(*http_, options());
  const auto pcm = tone(24000);  // 1.5 s
  auto result = transcribe(recognizer, "en-US", pcm);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->text, "Go forward ten meters.");
  EXPECT_EQ(result->language, "en");

  const auto recorded = requests();
  ASSERT_EQ(recorded.size(), 1U);
  const auto& request = recorded[0].as_object();
  EXPECT_EQ(request.at("method").as_string(), "POST");
  EXPECT_EQ(request.at("path").as_string(), "/v1/audio/transcriptions");
  const auto& headers = request.at("headers").as_object();
  EXPECT_EQ(headers.at("authorization").as_string(), std::string("Bearer ") + kKey);
  EXPECT_TRUE(headers.at("content-type").as_string().starts_with("multipart/form-data; boundary="));

  const auto& parts = request.at("parts").as_array();
  ASSERT_EQ(parts.size(), 4U) << json::serialize(parts);
  const auto* file = part(request, "file");
  ASSERT_TRUE(file);
  EXPECT_EQ(file->at("filename").as_string(), "audio.wav");
  EXPECT_EQ(file->at("content_type").as_string(), "audio/wav");
  const auto wav = core::base64_decode(file->at("data_base64").as_string());
  ASSERT_TRUE(wav);
  ASSERT_EQ(wav->size(), 44 + pcm.size() * 2);
  EXPECT_EQ(file->at("size").as_int64(), static_cast<std::int64_t>(wav->size()));
  EXPECT_EQ(wav->substr(0, 4), "RIFF");
  EXPECT_EQ(wav->substr(8, 4), "WAVE");
  EXPECT_EQ(le16(*wav, 20), 1U);      // PCM
  EXPECT_EQ(le16(*wav, 22), 1U);      // mono
  EXPECT_EQ(le32(*wav, 24), 16000U);  // 16 kHz
  EXPECT_EQ(le16(*wav, 34), 16U);     // 16-bit
  EXPECT_EQ(le32(*wav, 40), pcm.size() * 2);
  for (const std::size_t i : {std::size_t{0}, std::size_t{1234}, pcm.size() - 1}) {
    EXPECT_EQ(static_cast<std::int16_t>(le16(*wav, 44 + 2 * i)), pcm[i]) << i;
  }
  EXPECT_EQ(text_of(request, "model"), "whisper-1");
  EXPECT_EQ(text_of(request, "language"), "en");
  EXPECT_EQ(text_of(request, "response_format"), "json");
}

TEST_F(OpenAiRecognizerTest, ModelIsConfigurableAndTrailingSlashIgnored) {
  auto o = options();
  o.model = "gpt-4o-mini-transcribe";
  o.base_url += "/";
  OpenAiRecognizer recognizer(*http_, o);
  auto result = transcribe(recognizer, "pt-BR", tone(8000));
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->text, "This is the fake transcript.");
  EXPECT_EQ(result->language, "pt");
  const auto recorded = requests();
  ASSERT_EQ(recorded.size(), 1U);
  EXPECT_EQ(recorded[0].at("path").as_string(), "/v1/audio/transcriptions");
  EXPECT_EQ(text_of(recorded[0].as_object(), "model"), "gpt-4o-mini-transcribe");
  EXPECT_EQ(text_of(recorded[0].as_object(), "language"), "pt");
}

TEST_F(OpenAiRecognizerTest, AutoLanguageReturnsTheDetectedLanguage) {
  script(R"({"transcript": "Hola, ¿qué tal?", "detected_language": "spanish"})");
  OpenAiRecognizer recognizer(*http_, options());
  auto result = transcribe(recognizer, "auto", tone(16000));
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->text, "Hola, ¿qué tal?");
  EXPECT_EQ(result->language, "es");
  const auto recorded = requests();
  ASSERT_EQ(recorded.size(), 1U);
  const auto& request = recorded[0].as_object();
  EXPECT_EQ(text_of(request, "response_format"), "verbose_json");
  EXPECT_EQ(part(request, "language"), nullptr) << "no language sent when detecting it";

  // Some compatible servers report the code rather than the name; unknown names are "und".
  script(R"({"detected_language": "de"})");
  result = transcribe(recognizer, "auto", tone(16000));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->language, "de");
  script(R"({"detected_language": "klingon"})");
  result = transcribe(recognizer, "auto", tone(16000));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->language, "und");
}

TEST_F(OpenAiRecognizerTest, WrongKeyIsUnavailableWithoutRetryNorLeak) {
  auto o = options();
  o.api_key = "sk-wrong-key-that-must-not-leak-42";
  SleepRecorder sleeps;
  OpenAiRecognizer recognizer(*http_, o, sleeps.function());
  auto result = transcribe(recognizer, "en", tone(16000));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::unavailable);
  EXPECT_EQ(result.error().message, "OpenAI rejected the API key");
  EXPECT_EQ(result.error().message.find("must-not-leak"), std::string::npos);
  EXPECT_EQ(requests().size(), 1U);
  EXPECT_TRUE(sleeps.waits.empty());
}

TEST_F(OpenAiRecognizerTest, RateLimitHonoursRetryAfterThenSucceeds) {
  script(R"({"responses": [{"status": 429, "headers": {"retry-after": "1"},
             "body": {"error": {"message": "Rate limit reached for requests", "type": "requests",
                                "param": null, "code": "rate_limit_exceeded"}}}]})");
  OpenAiRecognizer recognizer(*http_, options());  // the real clock: the wait is measured
  const auto started = std::chrono::steady_clock::now();
  auto result = transcribe(recognizer, "en", tone(16000));
  const auto elapsed = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->text, "This is the fake transcript.");
  EXPECT_EQ(requests().size(), 2U);
  EXPECT_GE(elapsed, 950ms);
  EXPECT_LT(elapsed, 4s);
}

TEST_F(OpenAiRecognizerTest, RetryAfterMsWinsAndWaitsAreCapped) {
  script(
      R"({"responses": [{"status": 429, "headers": {"retry-after-ms": "250", "retry-after": "1"}},
                           {"status": 429, "headers": {"retry-after": "60"}}]})");
  auto o = options();
  o.max_backoff = 2s;
  SleepRecorder sleeps;
  OpenAiRecognizer recognizer(*http_, o, sleeps.function());
  auto result = transcribe(recognizer, "en", tone(16000));
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(sleeps.waits, (std::vector<std::chrono::milliseconds>{250ms, 2s}));
  EXPECT_EQ(requests().size(), 3U);
}

TEST_F(OpenAiRecognizerTest, PersistentRateLimitIsRateLimitedWithRetryAfter) {
  script(R"({"responses": [{"status": 429, "headers": {"retry-after": "3"}},
                           {"status": 429, "headers": {"retry-after": "3"}},
                           {"status": 429, "headers": {"retry-after": "3"}}]})");
  SleepRecorder sleeps;
  OpenAiRecognizer recognizer(*http_, options(), sleeps.function());
  auto result = transcribe(recognizer, "en", tone(16000));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::rate_limited);
  EXPECT_EQ(result.error().retry_after, 3s);
  EXPECT_EQ(requests().size(), 3U);  // 1 + max_retries
  EXPECT_EQ(sleeps.waits.size(), 2U);
}

TEST_F(OpenAiRecognizerTest, QuotaExhaustedIsNotRetried) {
  script(
      R"({"responses": [{"status": 429, "body": {"error": {"message": "You exceeded your current quota",
             "type": "insufficient_quota", "param": null, "code": "insufficient_quota"}}}]})");
  SleepRecorder sleeps;
  OpenAiRecognizer recognizer(*http_, options(), sleeps.function());
  auto result = transcribe(recognizer, "en", tone(16000));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::quota_exceeded);
  EXPECT_EQ(requests().size(), 1U);
}

TEST_F(OpenAiRecognizerTest, ServerErrorThenSuccessIsRetriedWithBackoff) {
  script(R"({"responses": [{"status": 500}, {"status": 503}]})");
  SleepRecorder sleeps;
  OpenAiRecognizer recognizer(*http_, options(), sleeps.function());
  auto result = transcribe(recognizer, "fr", tone(16000));
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->language, "fr");
  EXPECT_EQ(requests().size(), 3U);
  EXPECT_EQ(sleeps.waits, (std::vector<std::chrono::milliseconds>{10ms, 20ms}));  // doubling
}

TEST_F(OpenAiRecognizerTest, PersistentServerErrorFails) {
  script(R"({"responses": [{"status": 500}, {"status": 502}, {"status": 500}, {"status": 500}]})");
  SleepRecorder sleeps;
  OpenAiRecognizer recognizer(*http_, options(), sleeps.function());
  auto result = transcribe(recognizer, "en", tone(16000));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::unavailable);
  EXPECT_NE(result.error().message.find("500"), std::string::npos) << result.error().message;
  EXPECT_EQ(requests().size(), 3U);
}

TEST_F(OpenAiRecognizerTest, SlowServiceTimesOut) {
  script(R"({"responses": [{"delay_ms": 1500}]})");
  auto o = options();
  o.timeout = 300ms;
  o.max_retries = 0;
  OpenAiRecognizer recognizer(*http_, o);
  const auto started = std::chrono::steady_clock::now();
  auto result = transcribe(recognizer, "en", tone(16000));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1400ms);
}

TEST_F(OpenAiRecognizerTest, TimeoutThenSuccessIsRetried) {
  script(R"({"responses": [{"delay_ms": 1000}]})");
  auto o = options();
  o.timeout = 300ms;
  SleepRecorder sleeps;
  OpenAiRecognizer recognizer(*http_, o, sleeps.function());
  auto result = transcribe(recognizer, "en", tone(16000));
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->text, "This is the fake transcript.");
  EXPECT_EQ(sleeps.waits.size(), 1U);
}

TEST_F(OpenAiRecognizerTest, BadRequestIsValidationFailedWithTheServiceMessage) {
  script(std::string(
             R"({"responses": [{"status": 400, "body": {"error": {"message": "Invalid file: )") +
         kKey +
         R"( is not audio", "type": "invalid_request_error", "param": "file", "code": null}}}]})");
  SleepRecorder sleeps;
  OpenAiRecognizer recognizer(*http_, options(), sleeps.function());
  auto result = transcribe(recognizer, "en", tone(16000));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::validation_failed);
  EXPECT_EQ(result.error().message, "Invalid file: *** is not audio");
  EXPECT_EQ(requests().size(), 1U);
}

TEST_F(OpenAiRecognizerTest, UnknownModelReportsTheServiceMessage) {
  auto o = options();
  o.model = "no-such-model";
  OpenAiRecognizer recognizer(*http_, o);
  auto result = transcribe(recognizer, "en", tone(16000));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::unavailable);
  EXPECT_NE(result.error().message.find("no-such-model"), std::string::npos);
}

TEST_F(OpenAiRecognizerTest, UnexpectedReplyIsUnavailable) {
  script(R"({"responses": [{"status": 200, "body": {"not_text": 1}}]})");
  OpenAiRecognizer recognizer(*http_, options());
  auto result = transcribe(recognizer, "en", tone(16000));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::unavailable);
}

TEST_F(OpenAiRecognizerTest, UnreachableServiceIsUnavailableAfterRetries) {
  // A port that was just free: nothing listens there.
  auto o = options();
  o.base_url = "http://127.0.0.1:9/v1";
  SleepRecorder sleeps;
  OpenAiRecognizer recognizer(*http_, o, sleeps.function());
  auto result = transcribe(recognizer, "en", tone(16000));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::unavailable);
  EXPECT_EQ(sleeps.waits.size(), 2U);
}

TEST_F(OpenAiRecognizerTest, EmptyOrTooShortUtteranceSendsNothing) {
  OpenAiRecognizer recognizer(*http_, options());
  auto result = transcribe(recognizer, "en", {});
  ASSERT_TRUE(result);
  EXPECT_EQ(result->text, "");
  result = transcribe(recognizer, "en", tone(800));  // 50 ms: the API's minimum is 100 ms
  ASSERT_TRUE(result);
  EXPECT_EQ(result->text, "");
  EXPECT_EQ(requests().size(), 0U);
}

TEST_F(OpenAiRecognizerTest, UtteranceLengthIsBounded) {
  auto o = options();
  o.max_utterance = 1s;
  OpenAiRecognizer recognizer(*http_, o);
  auto stream = recognizer.start("en");
  ASSERT_TRUE(stream);
  const auto pcm = tone(16000);
  ASSERT_TRUE((*stream)->accept(pcm));
  auto more = (*stream)->accept(std::span(pcm).first(1));
  ASSERT_FALSE(more);
  EXPECT_EQ(more.error().code, Errc::payload_too_large);
  auto result = (*stream)->finish();  // what fits is still transcribed
  ASSERT_TRUE(result) << result.error().message;
  auto again = (*stream)->finish();
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::validation_failed);
  auto late = (*stream)->accept(pcm);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, Errc::validation_failed);
}

TEST_F(OpenAiRecognizerTest, LanguagesAndConfiguration) {
  OpenAiRecognizer recognizer(*http_, options());
  EXPECT_EQ(recognizer.name(), "openai");
  EXPECT_FALSE(recognizer.gives_partials());
  for (const char* language : {"auto", "en", "en-US", "es", "fr-CA", "zh-Hant", "de", "JA", "uk"}) {
    EXPECT_TRUE(recognizer.supports(language)) << language;
  }
  for (const char* language : {"", "xx", "tlh", "english", "a", "en!"}) {
    EXPECT_FALSE(recognizer.supports(language)) << language;
  }
  auto refused = recognizer.start("tlh");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::unsupported);
  EXPECT_NE(refused.error().message.find("'tlh'"), std::string::npos);
  EXPECT_NE(refused.error().message.find("OpenAI"), std::string::npos);

  auto o = options();
  o.api_key.clear();
  OpenAiRecognizer unconfigured(*http_, o);
  auto stream = unconfigured.start("en");
  ASSERT_FALSE(stream);
  EXPECT_EQ(stream.error().code, Errc::unavailable);
  EXPECT_NE(stream.error().message.find("OPENAI_API_KEY"), std::string::npos);
}

TEST_F(OpenAiRecognizerTest, StreamsOutliveTheRecognizer) {
  std::unique_ptr<RecognitionStream> stream;
  {
    OpenAiRecognizer recognizer(*http_, options());
    auto started = recognizer.start("en");
    ASSERT_TRUE(started);
    stream = std::move(*started);
  }
  ASSERT_TRUE(stream->accept(tone(16000)));
  auto result = stream->finish();
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->text, "This is the fake transcript.");
}

}  // namespace
}  // namespace parley::speech::stt
