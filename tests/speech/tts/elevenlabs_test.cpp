#include <gtest/gtest.h>

#include <chrono>

#include "core/base64.hpp"
#include "core/digest.hpp"
#include "fake_elevenlabs.hpp"
#include "speech/tts/elevenlabs_client.hpp"
#include "speech/tts/elevenlabs_synthesizer.hpp"
#include "tts_test_support.hpp"

namespace parley::speech::tts {
namespace {

namespace json = boost::json;
using testing::FakeElevenLabs;

constexpr const char* kVoice = "21m00Tcm4TlvDq8ikWAM";

class ElevenLabs : public ::testing::Test {
 protected:
  void SetUp() override { fake().reset(); }

  static FakeElevenLabs& fake() { return FakeElevenLabs::instance(); }

  static ElevenLabsOptions options() {
    ElevenLabsOptions o;
    o.base_url = fake().base_url() + "/";
    o.api_key = "el-test";
    o.default_voice_id = kVoice;
    o.timeout = std::chrono::seconds(10);
    o.initial_backoff = std::chrono::milliseconds(50);
    return o;
  }

  static std::string header(const json::value& request, const char* name) {
    const auto* h = request.at("headers").as_object().if_contains(name);
    return h != nullptr && h->is_string() ? std::string(h->as_string()) : std::string();
  }
};

TEST_F(ElevenLabs, TextToSpeechRequestFieldByField) {
  ElevenLabsClient client(fake().http(), options());
  auto audio = client.text_to_speech(kVoice, "Hola a todos", "es-ES", "mp3_44100_128");
  ASSERT_TRUE(audio) << audio.error().message;
  EXPECT_TRUE(mp3_duration(*audio).has_value());

  const auto requests = fake().requests();
  ASSERT_EQ(requests.size(), 1u);
  const auto& r = requests[0];
  EXPECT_EQ(r.at("method").as_string(), "POST");
  EXPECT_EQ(r.at("path").as_string(), std::string("/v1/text-to-speech/") + kVoice);
  EXPECT_EQ(r.at("query").at("output_format").as_string(), "mp3_44100_128");
  EXPECT_EQ(header(r, "xi-api-key"), "el-test");
  EXPECT_EQ(header(r, "content-type"), "application/json");
  const auto body = json::parse(r.at("body").as_string()).as_object();
  EXPECT_EQ(body.at("text").as_string(), "Hola a todos");
  EXPECT_EQ(body.at("model_id").as_string(), "eleven_multilingual_v2");
  EXPECT_EQ(body.at("language_code").as_string(), "es");
  const auto& settings = body.at("voice_settings").as_object();
  EXPECT_DOUBLE_EQ(settings.at("stability").as_double(), 0.5);
  EXPECT_DOUBLE_EQ(settings.at("similarity_boost").as_double(), 0.75);
  EXPECT_DOUBLE_EQ(settings.at("style").as_double(), 0.0);
  EXPECT_EQ(settings.at("use_speaker_boost").as_bool(), true);
}

TEST_F(ElevenLabs, ConfigurableModel) {
  auto o = options();
  o.model_id = "eleven_flash_v2_5";
  ElevenLabsClient client(fake().http(), o);
  ASSERT_TRUE(client.text_to_speech(kVoice, "hi", "", "pcm_16000"));
  const auto r = fake().requests().at(0);
  const auto body = json::parse(r.at("body").as_string()).as_object();
  EXPECT_EQ(body.at("model_id").as_string(), "eleven_flash_v2_5");
  EXPECT_FALSE(body.contains("language_code"));
  EXPECT_EQ(r.at("query").at("output_format").as_string(), "pcm_16000");
}

TEST_F(ElevenLabs, SynthesizerMp3PassesThrough) {
  ElevenLabsClient client(fake().http(), options());
  ElevenLabsSynthesizer tts(client);
  auto speech = tts.synthesize({"Bonjour tout le monde", "fr", {}, {}}, AudioFormat::mp3);
  ASSERT_TRUE(speech) << speech.error().message;
  testing::TempDir dir;
  testing::write_file(dir / "a.mp3", speech->audio);
  const auto probe = testing::ffprobe(dir / "a.mp3");
  EXPECT_EQ(probe.codec, "mp3");
  EXPECT_NEAR(static_cast<double>(speech->duration.count()) / 1000.0, probe.duration, 0.1);
  EXPECT_EQ(fake().requests().at(0).at("query").at("output_format").as_string(), "mp3_44100_128");
}

TEST_F(ElevenLabs, SynthesizerOggEncodesServicePcm) {
  ElevenLabsClient client(fake().http(), options());
  ElevenLabsSynthesizer tts(client);
  auto speech =
      tts.synthesize({"Hello everybody, welcome", "en-US", {}, {}}, AudioFormat::ogg_opus);
  ASSERT_TRUE(speech) << speech.error().message;
  testing::TempDir dir;
  testing::write_file(dir / "a.ogg", speech->audio);
  const auto probe = testing::ffprobe(dir / "a.ogg");
  EXPECT_EQ(probe.codec, "opus");
  EXPECT_NEAR(probe.duration, static_cast<double>(speech->duration.count()) / 1000.0, 0.1);
  // The fake's tone is 220 Hz.
  EXPECT_NEAR(testing::zero_crossing_frequency(testing::decode_with_ffmpeg(dir / "a.ogg", 16000)),
              220.0, 10.0);
  EXPECT_EQ(fake().requests().at(0).at("query").at("output_format").as_string(), "pcm_22050");
}

TEST_F(ElevenLabs, SynthesizerRefusesWhatItCannotDo) {
  ElevenLabsClient client(fake().http(), options());
  ElevenLabsSynthesizer tts(client);
  EXPECT_TRUE(tts.supports("pt-BR"));
  EXPECT_TRUE(tts.supports("fil"));
  EXPECT_FALSE(tts.supports("eu"));
  EXPECT_EQ(tts.synthesize({"Kaixo", "eu", {}, {}}, AudioFormat::mp3).error().code,
            Errc::unsupported);
  EXPECT_EQ(tts.synthesize({"", "en", {}, {}}, AudioFormat::mp3).error().code,
            Errc::validation_failed);
  EXPECT_EQ(
      tts.synthesize({"Hi", "en", std::string("unknownVoice"), {}}, AudioFormat::mp3).error().code,
      Errc::unsupported);
  auto no_default = options();
  no_default.default_voice_id.clear();
  ElevenLabsClient client2(fake().http(), no_default);
  ElevenLabsSynthesizer tts2(client2);
  EXPECT_EQ(tts2.synthesize({"Hi", "en", {}, {}}, AudioFormat::mp3).error().code,
            Errc::unsupported);
  // No request reached the service for local refusals; one for the unknown voice.
  EXPECT_EQ(fake().requests().size(), 1u);
}

TEST_F(ElevenLabs, AddVoiceMultipartAndDelete) {
  ElevenLabsClient client(fake().http(), options());
  std::string bytes_a(3000, '\0');
  for (std::size_t i = 0; i < bytes_a.size(); ++i) bytes_a[i] = static_cast<char>(i * 7);
  const std::string bytes_b = "RIFF....WAVEfmt fake wav bytes";
  auto id = client.add_voice(
      "Alice (Parley)",
      {{"sample one.mp3", "audio/mpeg", bytes_a}, {"two\"/evil.wav", "audio/wav", bytes_b}},
      "Alice's cloned voice");
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_FALSE(id->empty());

  auto requests = fake().requests();
  ASSERT_EQ(requests.size(), 1u);
  const auto& r = requests[0];
  EXPECT_EQ(r.at("method").as_string(), "POST");
  EXPECT_EQ(r.at("path").as_string(), "/v1/voices/add");
  EXPECT_EQ(header(r, "xi-api-key"), "el-test");
  EXPECT_EQ(header(r, "content-type").rfind("multipart/form-data; boundary=", 0), 0u);
  const auto& parts = r.at("parts").as_array();
  ASSERT_EQ(parts.size(), 5u);
  EXPECT_EQ(parts[0].at("name").as_string(), "name");
  EXPECT_EQ(parts[0].at("text").as_string(), "Alice (Parley)");
  EXPECT_EQ(parts[1].at("name").as_string(), "files");
  EXPECT_EQ(parts[1].at("filename").as_string(), "sample one.mp3");
  EXPECT_EQ(parts[1].at("content_type").as_string(), "audio/mpeg");
  EXPECT_EQ(parts[1].at("size").as_int64(), 3000);
  EXPECT_EQ(parts[1].at("sha256").as_string(), core::to_hex(core::sha256(bytes_a)));
  EXPECT_EQ(parts[2].at("name").as_string(), "files");
  EXPECT_EQ(parts[2].at("filename").as_string(), "two__evil.wav");
  EXPECT_EQ(parts[2].at("content_type").as_string(), "audio/wav");
  EXPECT_EQ(parts[2].at("sha256").as_string(), core::to_hex(core::sha256(bytes_b)));
  EXPECT_EQ(parts[3].at("name").as_string(), "description");
  EXPECT_EQ(parts[3].at("text").as_string(), "Alice's cloned voice");
  EXPECT_EQ(parts[4].at("name").as_string(), "remove_background_noise");
  EXPECT_EQ(parts[4].at("text").as_string(), "false");

  // The cloned voice speaks, then is deleted; a second delete is not_found.
  ASSERT_TRUE(client.text_to_speech(*id, "Hello", "en", "mp3_44100_128"));
  ASSERT_TRUE(client.delete_voice(*id));
  requests = fake().requests();
  EXPECT_EQ(requests.back().at("method").as_string(), "DELETE");
  EXPECT_EQ(requests.back().at("path").as_string(), "/v1/voices/" + *id);
  EXPECT_EQ(header(requests.back(), "xi-api-key"), "el-test");
  auto again = client.delete_voice(*id);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::not_found);

  EXPECT_EQ(client.add_voice("x", {}, "").error().code, Errc::validation_failed);
  EXPECT_EQ(client.add_voice("", {{"a.wav", "audio/wav", "x"}}, "").error().code,
            Errc::validation_failed);
}

TEST_F(ElevenLabs, WrongKeyIsUnavailableWithoutLeakingIt) {
  auto o = options();
  o.api_key = "sk-secret-wrong-key";
  ElevenLabsClient client(fake().http(), o);
  auto r = client.text_to_speech(kVoice, "Hello", "en", "mp3_44100_128");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_EQ(r.error().message, "ElevenLabs rejected the API key");
  EXPECT_EQ(r.error().message.find("sk-secret"), std::string::npos);
  EXPECT_EQ(fake().requests().size(), 1u);  // 401 is not retried
  EXPECT_EQ(client.add_voice("x", {{"a.wav", "audio/wav", "x"}}, "").error().code,
            Errc::unavailable);
  EXPECT_EQ(client.delete_voice("abc").error().code, Errc::unavailable);
}

TEST_F(ElevenLabs, QuotaExceededPassesTheMessageOn) {
  fake().script(R"([{"status":401,"body":{"detail":{"status":"quota_exceeded",
    "message":"This request exceeds your quota of 10000."}}}])");
  ElevenLabsClient client(fake().http(), options());
  auto r = client.text_to_speech(kVoice, "Hello", "en", "mp3_44100_128");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_NE(r.error().message.find("exceeds your quota"), std::string::npos);
}

TEST_F(ElevenLabs, RetriesAfter429HonouringRetryAfter) {
  fake().script(R"([{"status":429,"headers":{"retry-after":"1"},
    "body":{"detail":{"status":"too_many_concurrent_requests","message":"busy"}}}])");
  ElevenLabsClient client(fake().http(), options());
  const auto start = std::chrono::steady_clock::now();
  auto r = client.text_to_speech(kVoice, "Hello", "en", "mp3_44100_128");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_GE(elapsed, std::chrono::milliseconds(950));
  EXPECT_EQ(fake().requests().size(), 2u);
}

TEST_F(ElevenLabs, PersistentRateLimitIsRateLimited) {
  fake().script(R"([{"status":429,"headers":{"retry-after":"0.1"}},
    {"status":429,"headers":{"retry-after":"0.1"}},{"status":429,"headers":{"retry-after":"7"}}])");
  ElevenLabsClient client(fake().http(), options());
  auto r = client.text_to_speech(kVoice, "Hello", "en", "mp3_44100_128");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::rate_limited);
  EXPECT_EQ(r.error().retry_after, std::chrono::seconds(7));
  EXPECT_EQ(fake().requests().size(), 3u);
}

TEST_F(ElevenLabs, ServerErrorsThreeTimesIsUnavailable) {
  fake().script(R"([{"status":500},{"status":502},{"status":503}])");
  ElevenLabsClient client(fake().http(), options());
  auto r = client.text_to_speech(kVoice, "Hello", "en", "mp3_44100_128");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_NE(r.error().message.find("503"), std::string::npos);
  EXPECT_EQ(fake().requests().size(), 3u);
}

TEST_F(ElevenLabs, ServerErrorThenSuccess) {
  fake().script(R"([{"status":500}])");
  ElevenLabsClient client(fake().http(), options());
  EXPECT_TRUE(client.text_to_speech(kVoice, "Hello", "en", "mp3_44100_128"));
  EXPECT_EQ(fake().requests().size(), 2u);
}

TEST_F(ElevenLabs, ValidationErrorCarriesTheDetailMessage) {
  fake().script(R"([{"status":422,"body":{"detail":[{"loc":["body","text"],
    "msg":"Field required","type":"missing"}]}}])");
  ElevenLabsClient client(fake().http(), options());
  auto r = client.text_to_speech(kVoice, "Hello", "en", "mp3_44100_128");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::validation_failed);
  EXPECT_NE(r.error().message.find("text: Field required"), std::string::npos);
  EXPECT_EQ(fake().requests().size(), 1u);  // not retried

  fake().script(R"([{"status":400,"body":{"detail":{"status":"max_character_limit_exceeded",
    "message":"Text is too long."}}}])");
  auto t = client.text_to_speech(kVoice, "Hello", "en", "mp3_44100_128");
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, Errc::validation_failed);
  EXPECT_NE(t.error().message.find("Text is too long."), std::string::npos);
}

TEST_F(ElevenLabs, FakeValidatesBodiesLikeTheSpec) {
  outbound::HttpRequest request;
  request.method = "POST";
  request.url = fake().base_url() + "/v1/text-to-speech/" + kVoice;
  request.headers.set("xi-api-key", "el-test");
  request.headers.set("content-type", "application/json");
  request.body = R"({"model_id":"eleven_multilingual_v2"})";
  auto response = fake().http().send(request);
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 422);
  const auto error = elevenlabs_error(*response);
  EXPECT_EQ(error.code, Errc::validation_failed);
  EXPECT_NE(error.message.find("text: Field required"), std::string::npos);
}

TEST_F(ElevenLabs, Timeout) {
  fake().script(R"([{"delay_ms":3000}])");
  auto o = options();
  o.timeout = std::chrono::milliseconds(400);
  ElevenLabsClient client(fake().http(), o);
  const auto start = std::chrono::steady_clock::now();
  auto r = client.text_to_speech(kVoice, "Hello", "en", "mp3_44100_128");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(2500));
}

TEST_F(ElevenLabs, UnreachableService) {
  auto o = options();
  o.base_url = "http://127.0.0.1:1";
  ElevenLabsClient client(fake().http(), o);
  auto r = client.text_to_speech(kVoice, "Hello", "en", "mp3_44100_128");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unavailable);
}

}  // namespace
}  // namespace parley::speech::tts
