// The room's record on SQLite and PostgreSQL: messages of a time range in the order they began
// (a spoken one by when it was spoken), each with its translation into the reader's language,
// the languages the range can be read in, members only, and the bounds of a range.
#include "transcript/room_transcript.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "auth/password_hasher.hpp"
#include "auth/user_store.hpp"
#include "chat/chatroom_service.hpp"
#include "support/chat_database_test.hpp"
#include "support/manual_clock.hpp"
#include "support/test_accounts.hpp"
#include "translate/queue/message_translations.hpp"

namespace parley::transcript {
namespace {

using namespace std::chrono_literals;
using testing::DatabaseKind;

class RoomTranscriptTest : public testing::ChatDatabaseTest {
 protected:
  void SetUp() override {
    clock_.set(1'795'766'400'000);
    ChatDatabaseTest::SetUp();
    if (HasFatalFailure()) return;
    translations_ = std::make_unique<translate::MessageTranslations>(*db_, clock_);
    transcripts_ = std::make_unique<RoomTranscripts>(*rooms_, *translations_, clock_);
    ana_ = user("ana");
    bea_ = user("bea");
    auto room = rooms_->create(ana_, {"bilingual", false, std::nullopt, std::nullopt});
    ASSERT_TRUE(room) << room.error().message;
    room_ = room->id;
    ASSERT_TRUE(rooms_->join(room_, bea_, {}));
  }

  std::int64_t user(const std::string& name) { return testing::create_user(*users_, name); }

  chat::StoredMessage post(std::int64_t sender, const std::string& text,
                           const std::string& language,
                           std::optional<chat::SpokenTiming> spoken = std::nullopt) {
    auto stored = rooms_->post_message(room_, sender, text,
                                       spoken ? chat::MessageKind::speech : chat::MessageKind::text,
                                       language, std::nullopt, std::nullopt, spoken);
    EXPECT_TRUE(stored) << stored.error().message;
    return stored ? *stored : chat::StoredMessage{};
  }

  void translate(const chat::StoredMessage& message, const std::string& source,
                 const std::string& target, const std::string& text) {
    auto put = translations_->put(message.id,
                                  translate::Translation{text, source, target, "apertium", {}});
    ASSERT_TRUE(put) << put.error().message;
  }

  Result<Transcript> read(std::optional<std::string> language,
                          std::optional<std::int64_t> from = std::nullopt,
                          std::optional<std::int64_t> to = std::nullopt,
                          std::optional<std::int64_t> viewer = std::nullopt) {
    return transcripts_->read({room_, viewer.value_or(bea_), std::move(language), from, to});
  }

  std::unique_ptr<translate::MessageTranslations> translations_;
  std::unique_ptr<RoomTranscripts> transcripts_;
  std::int64_t ana_ = 0;
  std::int64_t bea_ = 0;
  std::int64_t room_ = 0;
};

INSTANTIATE_TEST_SUITE_P(Backends, RoomTranscriptTest,
                         ::testing::Values(DatabaseKind::sqlite, DatabaseKind::postgres),
                         testing::backend_name);

TEST_P(RoomTranscriptTest, ReadsTheRangeInTheReadersLanguageInTheOrderItWasSaid) {
  const std::int64_t t0 = clock_.now_ms();
  const auto hello = post(ana_, "Hello everyone", "en");  // typed at t0
  translate(hello, "en", "es", "Hola a todos");
  clock_.advance(10s);
  const auto typed = post(bea_, "Hola Ana", "es");  // typed at t0 + 10 s
  translate(typed, "es", "en", "Hello Ana");
  clock_.advance(3s);
  // Stored at t0 + 13 s, spoken from t0 + 6 s to t0 + 9 s: it began before Bea's message.
  const auto spoken =
      post(ana_, "the weather is nice today", "en-US", chat::SpokenTiming{7000, 4000});
  EXPECT_EQ(spoken.spoken_started_at, t0 + 6000);
  EXPECT_EQ(spoken.spoken_ended_at, t0 + 9000);

  auto transcript = read("es-ES");
  ASSERT_TRUE(transcript) << transcript.error().message;
  EXPECT_EQ(transcript->language, "es");
  EXPECT_EQ(transcript->room.name, "bilingual");
  EXPECT_EQ(transcript->origin_ms, t0);
  ASSERT_EQ(transcript->entries.size(), 3u);
  const auto& e = transcript->entries;
  EXPECT_EQ(e[0].message.id, hello.id);
  EXPECT_EQ(e[0].start_ms, t0);
  EXPECT_GT(e[0].end_ms, e[0].start_ms);
  ASSERT_TRUE(e[0].translation);
  EXPECT_EQ(e[0].translation->translation.text, "Hola a todos");
  EXPECT_FALSE(e[0].in_reader_language);
  EXPECT_EQ(e[1].message.id, spoken.id);
  EXPECT_EQ(e[1].start_ms, t0 + 6000);
  EXPECT_EQ(e[1].end_ms, t0 + 9000);
  EXPECT_FALSE(e[1].translation);  // not translated: the original stands
  EXPECT_EQ(e[2].message.id, typed.id);
  EXPECT_TRUE(e[2].in_reader_language);
  EXPECT_FALSE(e[2].translation);  // Spanish already; its English translation is not shown
  EXPECT_EQ(transcript->languages, (std::vector<std::string>{"en", "es"}));

  // In English: Bea's message comes with its translation, Ana's are in the reader's language.
  auto english = read("en");
  ASSERT_TRUE(english);
  EXPECT_TRUE(english->entries[0].in_reader_language);
  EXPECT_TRUE(english->entries[1].in_reader_language);  // "en-US" is English
  ASSERT_TRUE(english->entries[2].translation);
  EXPECT_EQ(english->entries[2].translation->translation.text, "Hello Ana");

  // Without a language: originals only.
  auto originals = read(std::nullopt);
  ASSERT_TRUE(originals);
  for (const auto& entry : originals->entries) {
    EXPECT_FALSE(entry.translation);
    EXPECT_FALSE(entry.in_reader_language);
  }
}

TEST_P(RoomTranscriptTest, TypedMessagesLastTheirReadingTimeWithinBounds) {
  post(ana_, "ok", "en");
  post(ana_, std::string(400, 'a'), "en");
  auto transcript = read(std::nullopt);
  ASSERT_TRUE(transcript);
  ASSERT_EQ(transcript->entries.size(), 2u);
  EXPECT_EQ(transcript->entries[0].end_ms - transcript->entries[0].start_ms, 1500);
  EXPECT_EQ(transcript->entries[1].end_ms - transcript->entries[1].start_ms, 8000);
}

TEST_P(RoomTranscriptTest, FromIsInclusiveToIsExclusiveAndByWhenSpeechBegan) {
  const std::int64_t t0 = clock_.now_ms();
  post(ana_, "zero", "en");
  clock_.advance(1s);
  post(ana_, "one", "en");
  clock_.advance(1s);
  post(ana_, "two", "en");
  clock_.advance(20s);
  // Stored at t0 + 22 s, but began at t0 + 1.5 s: it belongs to a range around then.
  post(ana_, "said earlier", "en", chat::SpokenTiming{20'500, 19'000});

  auto middle = read(std::nullopt, t0 + 1000, t0 + 2000);
  ASSERT_TRUE(middle) << middle.error().message;
  ASSERT_EQ(middle->entries.size(), 2u);
  EXPECT_EQ(middle->entries[0].message.text, "one");
  EXPECT_EQ(middle->entries[1].message.text, "said earlier");
  EXPECT_EQ(middle->origin_ms, t0 + 1000);  // cue times count from `from`

  auto later = read(std::nullopt, t0 + 2000, std::nullopt);
  ASSERT_TRUE(later);
  ASSERT_EQ(later->entries.size(), 1u);
  EXPECT_EQ(later->entries[0].message.text, "two");

  auto none = read(std::nullopt, t0 + 30'000, std::nullopt);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->entries.empty());
  EXPECT_EQ(none->origin_ms, t0 + 30'000);
}

TEST_P(RoomTranscriptTest, SpokenTimesAreNeverInTheFutureNorBeforeTheirStart) {
  const std::int64_t now = clock_.now_ms();
  // A stream pushed faster than real time reports speech "in the future": it is clamped to now.
  const auto fast = post(ana_, "fast", "en", chat::SpokenTiming{-2000, -5000});
  EXPECT_EQ(fast.spoken_started_at, now);
  EXPECT_EQ(fast.spoken_ended_at, now);
  const auto odd = post(ana_, "odd", "en", chat::SpokenTiming{1000, 3000});
  EXPECT_EQ(odd.spoken_started_at, now - 1000);
  EXPECT_EQ(odd.spoken_ended_at, now - 1000);
  auto transcript = read(std::nullopt);
  ASSERT_TRUE(transcript);
  for (const auto& entry : transcript->entries) EXPECT_GE(entry.end_ms - entry.start_ms, 500);
}

TEST_P(RoomTranscriptTest, OnlyMembersReadItAndOthersCannotTellTheRoomExists) {
  post(ana_, "private words", "en");
  const auto outsider = user("otto");
  for (const auto viewer : {outsider, std::int64_t{999'999}}) {
    auto refused = read(std::nullopt, std::nullopt, std::nullopt, viewer);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, Errc::not_found);
  }
  ASSERT_TRUE(rooms_->ban(room_, ana_, bea_));
  auto banned = read(std::nullopt);
  ASSERT_FALSE(banned);
  EXPECT_EQ(banned.error().code, Errc::not_found);
  auto unknown = transcripts_->read({room_ + 1000, ana_, std::nullopt, std::nullopt, std::nullopt});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, Errc::not_found);
}

TEST_P(RoomTranscriptTest, BadLanguagesAndRangesAreRefused) {
  for (const auto* language : {"", "e", "english!", "'; DROP TABLE messages; --"}) {
    auto refused = read(std::string(language));
    ASSERT_FALSE(refused) << language;
    EXPECT_EQ(refused.error().code, Errc::validation_failed);
  }
  const std::int64_t now = clock_.now_ms();
  for (const auto& [from, to] : {std::pair{now, now}, std::pair{now, now - 1}}) {
    auto refused = read(std::nullopt, from, to);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, Errc::validation_failed);
  }
}

TEST_P(RoomTranscriptTest, ARangeWithTooManyMessagesAsksForAShorterOne) {
  const std::int64_t t0 = clock_.now_ms();
  // kMaxTranscriptEntries + 1 messages straight into the table, a millisecond apart.
  sql("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " +
          std::to_string(kMaxTranscriptEntries + 1) +
          ") INSERT INTO messages (chatroom_id, room_seq, sender_id, kind, text, created_at) "
          "SELECT $1, i, $2, 'text', 'bulk', $3 + i FROM n",
      {room_, ana_, t0});
  clock_.advance(1min);
  auto refused = read(std::nullopt);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::validation_failed);
  EXPECT_NE(refused.error().message.find("shorter"), std::string::npos);
  auto part = read(std::nullopt, t0, t0 + 1 + static_cast<std::int64_t>(kMaxTranscriptEntries));
  ASSERT_TRUE(part) << part.error().message;
  EXPECT_EQ(part->entries.size(), kMaxTranscriptEntries);
}

}  // namespace
}  // namespace parley::transcript
