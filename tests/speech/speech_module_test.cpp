// The speech module's own parts: which engine serves which language, the language a result
// reports, voice references in a real database (SQLite and PostgreSQL), and SpeechStreams with
// real voice activity detection on a real recording (pocketsphinx-testdata's goforward.raw) but a
// scripted recognizer, so limits, ordering, idle and duration rules are checked exactly.

#include <gtest/gtest.h>

#include <condition_variable>
#include <fstream>
#include <iterator>
#include <mutex>

#include "auth/user_store.hpp"
#include "speech/speech_engines.hpp"
#include "speech/speech_streams.hpp"
#include "speech/voice_profiles.hpp"
#include "store/migrations/migrator.hpp"
#include "support/test_database.hpp"

namespace parley::speech {
namespace {

using namespace std::chrono_literals;

// --- fakes -------------------------------------------------------------------------------------

class ScriptedStream final : public stt::RecognitionStream {
 public:
  Result<std::optional<std::string>> accept(std::span<const std::int16_t> pcm) override {
    const auto before = samples_ / 8000;
    samples_ += pcm.size();
    if (samples_ / 8000 != before)
      return std::optional<std::string>("heard " + std::to_string(samples_ / 8000));
    return std::optional<std::string>();
  }
  Result<stt::Transcript> finish() override {
    return stt::Transcript{"utterance of " + std::to_string(samples_) + " samples", "en"};
  }

 private:
  std::size_t samples_ = 0;
};

class ScriptedRecognizer final : public stt::SpeechRecognizer {
 public:
  ScriptedRecognizer(std::string name, std::vector<std::string> languages)
      : name_(std::move(name)), languages_(std::move(languages)) {}
  std::string_view name() const noexcept override { return name_; }
  bool supports(std::string_view language) const noexcept override {
    return std::find(languages_.begin(), languages_.end(), stt::primary_language(language)) !=
           languages_.end();
  }
  bool gives_partials() const noexcept override { return true; }
  Result<std::unique_ptr<stt::RecognitionStream>> start(std::string_view) override {
    return std::unique_ptr<stt::RecognitionStream>(std::make_unique<ScriptedStream>());
  }

 private:
  std::string name_;
  std::vector<std::string> languages_;
};

class RecordingSink final : public SpeechStreamSink {
 public:
  struct Entry {
    std::string kind;  // "partial", "final", "error", "closed"
    std::string stream;
    std::string text;
    Errc code = Errc::internal;
    std::size_t audio_samples = 0;
    std::int64_t start_ms = 0;
    std::int64_t end_ms = 0;
  };
  void on_transcription(Transcription r) override {
    add({r.is_final ? "final" : "partial", r.key.stream_id, r.text, Errc::internal,
         r.audio ? r.audio->samples.size() : 0, r.start_ms, r.end_ms});
  }
  void on_stream_error(const StreamKey& key, std::int64_t, const Error& error) override {
    add({"error", key.stream_id, error.message, error.code, 0, 0, 0});
  }
  void on_stream_closed(const StreamKey& key, std::int64_t) override {
    add({"closed", key.stream_id, "", Errc::internal, 0, 0, 0});
  }
  /// Waits until `stream` is closed; returns its entries in order.
  std::vector<Entry> wait_closed(const std::string& stream, std::chrono::milliseconds limit = 20s) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, limit, [&] {
      return std::any_of(entries_.begin(), entries_.end(),
                         [&](const Entry& e) { return e.kind == "closed" && e.stream == stream; });
    });
    std::vector<Entry> out;
    for (const auto& e : entries_) {
      if (e.stream == stream) out.push_back(e);
    }
    return out;
  }

 private:
  void add(Entry e) {
    std::lock_guard lock(mutex_);
    entries_.push_back(std::move(e));
    changed_.notify_all();
  }
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Entry> entries_;
};

// goforward.raw (16 kHz mono, "go forward ten meters") with a second of silence on each side.
std::vector<std::int16_t> spoken_sentence() {
  std::ifstream in("/usr/share/pocketsphinx/test/data/goforward.raw", std::ios::binary);
  std::string bytes(std::istreambuf_iterator<char>(in), {});
  std::vector<std::int16_t> pcm(16000, 0);
  const auto at = pcm.size();
  pcm.resize(at + bytes.size() / 2);
  std::memcpy(pcm.data() + at, bytes.data(), bytes.size() / 2 * 2);
  pcm.resize(pcm.size() + 16000, 0);
  return pcm;
}

std::string pcm_bytes(std::span<const std::int16_t> pcm) {
  return std::string(reinterpret_cast<const char*>(pcm.data()), pcm.size() * 2);
}

// --- engine choice -----------------------------------------------------------------------------

SpeechEngines engines(EnginePolicy policy, bool with_cloud = true) {
  return SpeechEngines(
      std::make_unique<ScriptedRecognizer>("embedded", std::vector<std::string>{"en"}),
      with_cloud ? std::make_unique<ScriptedRecognizer>(
                       "cloud", std::vector<std::string>{"en", "fr", "auto"})
                 : nullptr,
      policy, nullptr, nullptr, policy);
}

TEST(SpeechEngines, AutomaticPrefersTheEmbeddedEngineAndFallsBackToTheCloudPerLanguage) {
  auto both = engines(EnginePolicy::automatic);
  EXPECT_EQ((*both.recognizer_for("en-US"))->name(), "embedded");
  EXPECT_EQ((*both.recognizer_for("fr"))->name(), "cloud");
  auto none = both.recognizer_for("de");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, Errc::unsupported);
  EXPECT_NE(none.error().message.find("'de'"), std::string::npos) << none.error().message;
  EXPECT_NE(none.error().message.find("embedded, cloud"), std::string::npos);
}

TEST(SpeechEngines, PoliciesRestrictTheChoiceAndMissingEnginesAreNeverInvented) {
  EXPECT_EQ((*engines(EnginePolicy::cloud_only).recognizer_for("en"))->name(), "cloud");
  EXPECT_FALSE(engines(EnginePolicy::embedded_only).recognizer_for("fr"));
  EXPECT_FALSE(engines(EnginePolicy::automatic, false).recognizer_for("fr"));
  auto speak = engines(EnginePolicy::automatic).synthesizer_for("en");
  ASSERT_FALSE(speak);
  EXPECT_EQ(speak.error().code, Errc::unsupported);
}

TEST(SpeechEngines, ReportedLanguageKeepsTheDeclaredTagUnlessTheEngineHeardAnother) {
  EXPECT_EQ(reported_language("en-US", "en"), "en-US");
  EXPECT_EQ(reported_language("en-US", ""), "en-US");
  EXPECT_EQ(reported_language("en-US", "und"), "en-US");
  EXPECT_EQ(reported_language("auto", "es"), "es");
  EXPECT_EQ(reported_language("fr", "de"), "de");
}

// --- voice references --------------------------------------------------------------------------

class VoiceProfileStoreTest : public ::testing::TestWithParam<testing::DatabaseKind> {
 protected:
  void SetUp() override {
    ASSERT_FALSE(database_.url().empty()) << "no database for this run";
    auto db = store::open_database(database_.url());
    ASSERT_TRUE(db) << db.error().message;
    db_ = std::move(*db);
    ASSERT_TRUE(store::migrate(*db_));
    users_ = std::make_unique<auth::UserStore>(*db_, clock_);
    auth::NewUser input;
    input.email = "voice@example.test";
    input.username = "voice";
    input.password_hash = "x";
    auto created = users_->create(input);
    ASSERT_TRUE(created) << created.error().message;
    user_ = created->id;
  }

  StoredVoice voice(std::string file, VoiceMode mode) {
    StoredVoice v;
    v.user_id = user_;
    v.reference_file = std::move(file);
    v.mode = mode;
    v.provider = mode == VoiceMode::clone ? "elevenlabs" : "espeak-ng";
    if (mode == VoiceMode::clone) v.provider_voice_id = "voice-123";
    v.profile.pitch_hz = 182.5;
    v.profile.speaking_rate_wpm = 150;
    v.profile.gender = tts::VoiceProfile::Gender::female;
    v.profile.espeak_variant = "f3";
    v.consented_at = 1'700'000'000'000;
    return v;
  }

  testing::TestDatabase database_{GetParam()};
  core::SystemClock clock_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<auth::UserStore> users_;
  std::int64_t user_ = 0;
};

TEST_P(VoiceProfileStoreTest, StoresReplacesAndRemovesOneVoicePerUser) {
  VoiceProfileStore voices(*db_, clock_);
  auto none = voices.find(user_);
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
  auto first = voices.put(voice("a.wav", VoiceMode::approximate));
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_FALSE(first->has_value());
  auto found = voices.find(user_);
  ASSERT_TRUE(found && found->has_value());
  EXPECT_EQ((*found)->reference_file, "a.wav");
  EXPECT_EQ((*found)->mode, VoiceMode::approximate);
  EXPECT_DOUBLE_EQ((*found)->profile.pitch_hz, 182.5);
  EXPECT_EQ((*found)->profile.gender, tts::VoiceProfile::Gender::female);
  EXPECT_EQ((*found)->profile.espeak_variant, "f3");
  EXPECT_FALSE((*found)->provider_voice_id);
  const auto json = to_json(**found);
  EXPECT_EQ(json.at("mode"), "approximate");
  EXPECT_FALSE(json.contains("voice_id"));

  // Replacing returns the previous voice so that its file can be removed.
  auto second = voices.put(voice("b.wav", VoiceMode::clone));
  ASSERT_TRUE(second && second->has_value());
  EXPECT_EQ((*second)->reference_file, "a.wav");
  found = voices.find(user_);
  EXPECT_EQ((*found)->provider_voice_id, "voice-123");
  EXPECT_EQ(to_json(**found).at("voice_id"), "voice-123");

  auto removed = voices.remove(user_);
  ASSERT_TRUE(removed && removed->has_value());
  EXPECT_EQ((*removed)->reference_file, "b.wav");
  EXPECT_FALSE(voices.find(user_)->has_value());
  EXPECT_FALSE(voices.remove(user_)->has_value());
}

TEST_P(VoiceProfileStoreTest, TheRowGoesWithTheAccount) {
  VoiceProfileStore voices(*db_, clock_);
  ASSERT_TRUE(voices.put(voice("a.wav", VoiceMode::approximate)));
  auto lease = db_->acquire();
  ASSERT_TRUE(lease);
  ASSERT_TRUE((*lease)->query("DELETE FROM users WHERE id = $1", {user_}));
  EXPECT_FALSE(voices.find(user_)->has_value());
}

INSTANTIATE_TEST_SUITE_P(Backends, VoiceProfileStoreTest,
                         ::testing::Values(testing::DatabaseKind::sqlite,
                                           testing::DatabaseKind::postgres),
                         [](const auto& param_info) {
                           return param_info.param == testing::DatabaseKind::sqlite ? "SQLite"
                                                                                    : "PostgreSQL";
                         });

// --- live streams ------------------------------------------------------------------------------

class SpeechStreamsTest : public ::testing::Test {
 protected:
  SpeechStreamOptions options() {
    SpeechStreamOptions o;
    o.threads = 2;
    o.max_streams = 3;
    o.max_streams_per_user = 2;
    o.idle_timeout = 10s;
    return o;
  }
  StreamSpec spec(std::string connection, std::string id, std::int64_t user = 7) {
    StreamSpec s;
    s.key = StreamKey{std::move(connection), std::move(id)};
    s.room_id = 1;
    s.user_id = user;
    s.codec = StreamCodec::pcm16;
    s.sample_rate = 16000;
    s.language = "en";
    return s;
  }

  SpeechEngines engines_ = engines(EnginePolicy::automatic);
  RecordingSink sink_;
};

TEST_F(SpeechStreamsTest, ASpokenSentenceGivesPartialsThenOneFinalWithItsAudioThenClosed) {
  SpeechStreams streams(options(), engines_, sink_);
  auto started = streams.start(spec("c1", "s"));
  ASSERT_TRUE(started) << started.error().message;
  EXPECT_EQ(started->engine, "embedded");
  const auto pcm = spoken_sentence();
  for (std::size_t at = 0; at < pcm.size(); at += 1600) {  // 100 ms chunks
    const auto n = std::min<std::size_t>(1600, pcm.size() - at);
    ASSERT_TRUE(streams.push({"c1", "s"}, pcm_bytes(std::span(pcm).subspan(at, n))));
  }
  ASSERT_TRUE(streams.stop({"c1", "s"}));
  const auto events = sink_.wait_closed("s");
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().kind, "closed");
  std::vector<std::string> kinds;
  for (const auto& e : events) kinds.push_back(e.kind);
  const auto finals = std::count(kinds.begin(), kinds.end(), "final");
  EXPECT_EQ(finals, 1) << ::testing::PrintToString(kinds);
  EXPECT_EQ(kinds.front(), "partial");
  const auto& final_event =
      *std::find_if(events.begin(), events.end(), [](const auto& e) { return e.kind == "final"; });
  // The utterance is the recording's speech (about 2 s), not the silence around it.
  EXPECT_GT(final_event.audio_samples, 16000u);
  EXPECT_LT(final_event.audio_samples, pcm.size() - 16000);
  EXPECT_GE(final_event.start_ms, 700);
  EXPECT_GT(final_event.end_ms, final_event.start_ms);
  EXPECT_EQ(final_event.text,
            "utterance of " + std::to_string(final_event.audio_samples) + " samples");
  EXPECT_EQ(streams.active_streams(), 0u);
}

TEST_F(SpeechStreamsTest, LimitsAreSaidClearly) {
  auto o = options();
  o.max_chunk_bytes = 64000;
  o.max_backlog = 500ms;
  SpeechStreams streams(o, engines_, sink_);
  ASSERT_TRUE(streams.start(spec("c1", "a")));
  EXPECT_EQ(streams.start(spec("c1", "a")).error().code, Errc::conflict);
  ASSERT_TRUE(streams.start(spec("c1", "b")));
  EXPECT_EQ(streams.start(spec("c2", "c")).error().code, Errc::rate_limited);  // same user
  ASSERT_TRUE(streams.start(spec("c3", "d", 8)));
  const auto busy = streams.start(spec("c4", "e", 9));
  EXPECT_EQ(busy.error().code, Errc::busy);
  EXPECT_GT(busy.error().retry_after.count(), 0);
  auto bad_rate = spec("c5", "f", 10);
  bad_rate.sample_rate = 4000;
  EXPECT_EQ(streams.start(bad_rate).error().code, Errc::validation_failed);
  EXPECT_EQ(streams.start(spec("c5", "", 10)).error().code, Errc::validation_failed);
  auto french = spec("c5", "g", 10);
  french.language = "de";
  EXPECT_EQ(streams.start(french).error().code, Errc::unsupported);

  EXPECT_EQ(streams.push({"c1", "zz"}, "ab").error().code, Errc::not_found);
  EXPECT_EQ(streams.push({"c1", "a"}, std::string(64001, '\0')).error().code,
            Errc::payload_too_large);
  // 0.6 s of audio in one chunk is more than the 0.5 s backlog allowed.
  EXPECT_EQ(streams.push({"c1", "a"}, std::string(19200, '\0')).error().code, Errc::rate_limited);
  EXPECT_TRUE(streams.push({"c1", "a"}, std::string(3200, '\0')));
  EXPECT_EQ(streams.stop({"c1", "zz"}).error().code, Errc::not_found);
  // A connection that goes away ends its streams; the per-user slot is free again.
  streams.stop_connection("c1");
  sink_.wait_closed("a");
  sink_.wait_closed("b");
  EXPECT_EQ(streams.active_streams(), 1u);
  EXPECT_TRUE(streams.start(spec("c2", "c")));
  EXPECT_EQ(streams.push({"c1", "a"}, "ab").error().code, Errc::not_found);
}

TEST_F(SpeechStreamsTest, AnIdleStreamIsStoppedAndBadAudioEndsTheStreamWithAnError) {
  auto o = options();
  o.idle_timeout = 1s;
  o.max_duration = 2s;
  SpeechStreams streams(o, engines_, sink_);
  ASSERT_TRUE(streams.start(spec("c1", "idle")));
  ASSERT_TRUE(streams.push({"c1", "idle"}, std::string(3200, '\0')));
  auto idle = sink_.wait_closed("idle", 5s);
  ASSERT_FALSE(idle.empty());
  EXPECT_EQ(idle.back().kind, "closed");

  ASSERT_TRUE(streams.start(spec("c1", "odd")));
  ASSERT_TRUE(streams.push({"c1", "odd"}, std::string(3, '\0')));
  auto odd = sink_.wait_closed("odd", 5s);
  ASSERT_GE(odd.size(), 2u);
  EXPECT_EQ(odd[odd.size() - 2].kind, "error");
  EXPECT_EQ(odd[odd.size() - 2].code, Errc::validation_failed);

  ASSERT_TRUE(streams.start(spec("c1", "long")));
  for (int i = 0; i < 30; ++i) (void)streams.push({"c1", "long"}, std::string(3200, '\0'));
  auto too_long = sink_.wait_closed("long", 5s);
  ASSERT_GE(too_long.size(), 2u);
  EXPECT_EQ(too_long[too_long.size() - 2].code, Errc::payload_too_large);
}

TEST_F(SpeechStreamsTest, RawPcmAtAnotherRateIsResampled) {
  SpeechStreams streams(options(), engines_, sink_);
  auto at48 = spec("c1", "r");
  at48.sample_rate = 48000;
  ASSERT_TRUE(streams.start(at48));
  // The sentence at 48 kHz: every sample three times (crude, but the VAD only needs energy).
  const auto pcm16 = spoken_sentence();
  std::vector<std::int16_t> pcm48;
  for (auto s : pcm16) pcm48.insert(pcm48.end(), 3, s);
  for (std::size_t at = 0; at < pcm48.size(); at += 4800) {
    const auto n = std::min<std::size_t>(4800, pcm48.size() - at);
    ASSERT_TRUE(streams.push({"c1", "r"}, pcm_bytes(std::span(pcm48).subspan(at, n))));
  }
  ASSERT_TRUE(streams.stop({"c1", "r"}));
  const auto events = sink_.wait_closed("r");
  const auto final_event =
      std::find_if(events.begin(), events.end(), [](const auto& e) { return e.kind == "final"; });
  ASSERT_NE(final_event, events.end());
  EXPECT_GT(final_event->audio_samples, 16000u);  // counted at 16 kHz
}

}  // namespace
}  // namespace parley::speech
