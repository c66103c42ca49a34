// Wrong-language corrections as the chat service stores them, on SQLite and PostgreSQL: the
// message's new language (and text, for speech heard again), the summary history shows (first
// language and text, last corrector), the full log, who may correct, and the limits.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "auth/password_hasher.hpp"
#include "auth/user_store.hpp"
#include "chat/chatroom_service.hpp"
#include "support/chat_database_test.hpp"
#include "support/manual_clock.hpp"
#include "support/test_accounts.hpp"

namespace parley::chat {
namespace {

using namespace std::chrono_literals;
using testing::DatabaseKind;

class MessageCorrectionsTest : public testing::ChatDatabaseTest {
 protected:
  void SetUp() override {
    clock_.set(1'795'766'400'000);
    ChatDatabaseTest::SetUp();
    if (HasFatalFailure()) return;
    ana_ = testing::create_user(*users_, "ana");
    bob_ = testing::create_user(*users_, "bob");
    eve_ = testing::create_user(*users_, "eve");
    auto room = rooms_->create(ana_, {"bilingual", false, std::nullopt, std::nullopt});
    ASSERT_TRUE(room) << room.error().message;
    room_ = room->id;
    ASSERT_TRUE(rooms_->join(room_, bob_, {}));
  }

  StoredMessage post(const std::string& text, const std::string& language,
                     MessageKind kind = MessageKind::text) {
    auto stored = rooms_->post_message(
        room_, ana_, text, kind, language, std::nullopt,
        kind == MessageKind::text ? std::nullopt : std::optional<std::string>("0123abcd.wav"));
    EXPECT_TRUE(stored) << stored.error().message;
    return stored ? *stored : StoredMessage{};
  }

  std::int64_t corrections_of(std::int64_t message) {
    auto rows = sql("SELECT COUNT(*) FROM message_corrections WHERE message_id = $1", {message});
    return *rows[0].get<std::int64_t>(std::size_t{0});
  }

  std::int64_t ana_ = 0;
  std::int64_t bob_ = 0;
  std::int64_t eve_ = 0;
  std::int64_t room_ = 0;
};

INSTANTIATE_TEST_SUITE_P(Backends, MessageCorrectionsTest,
                         ::testing::Values(DatabaseKind::sqlite, DatabaseKind::postgres),
                         testing::backend_name);

TEST_P(MessageCorrectionsTest, ACorrectionChangesTheLanguageAndHistoryKeepsWhatItWas) {
  const auto message = post("Mañana vamos a la playa", "en");
  EXPECT_FALSE(message.corrected);
  clock_.advance(5s);
  auto corrected = rooms_->correct_language(message.id, bob_, "es");
  ASSERT_TRUE(corrected) << corrected.error().message;
  EXPECT_EQ(corrected->language, "es");
  EXPECT_EQ(corrected->text, "Mañana vamos a la playa");
  ASSERT_TRUE(corrected->corrected);
  EXPECT_EQ(corrected->corrected->at, clock_.now_ms());
  EXPECT_EQ(corrected->corrected->by_id, bob_);
  EXPECT_EQ(corrected->corrected->by_username, "bob");
  EXPECT_EQ(corrected->corrected->initial_language, "en");
  EXPECT_FALSE(corrected->corrected->initial_text);
  EXPECT_EQ(corrected->seq, message.seq) << "the same message, not a new one";
  EXPECT_EQ(corrected->created_at, message.created_at);

  // History pages show it too.
  auto page = rooms_->messages(room_, ana_, std::nullopt, 10);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->messages.size(), 1u);
  ASSERT_TRUE(page->messages[0].corrected);
  EXPECT_EQ(page->messages[0].language, "es");
  const auto json = to_json(page->messages[0], "http://x");
  EXPECT_EQ(json.at("corrected").at("initial_language").as_string(), "en");
  EXPECT_EQ(json.at("corrected").at("by").at("username").as_string(), "bob");
  EXPECT_FALSE(json.at("corrected").as_object().contains("initial_text"));

  // A second correction keeps the first language, and the log has both.
  auto again = rooms_->correct_language(message.id, ana_, "pt");
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->corrected->initial_language, "en");
  EXPECT_EQ(again->corrected->by_username, "ana");
  EXPECT_EQ(corrections_of(message.id), 2);
  auto log =
      sql("SELECT previous_language, language, corrected_by FROM message_corrections "
          "WHERE message_id = $1 ORDER BY id",
          {message.id});
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(*log[0].get<std::string>("previous_language"), "en");
  EXPECT_EQ(*log[0].get<std::string>("language"), "es");
  EXPECT_EQ(*log[1].get<std::string>("previous_language"), "es");
  EXPECT_EQ(*log[1].get<std::int64_t>("corrected_by"), ana_);
}

TEST_P(MessageCorrectionsTest, SpeechHeardAgainKeepsTheFirstTextItWasHeardAs) {
  const auto spoken = post("oh la come estas", "en", MessageKind::speech);
  auto heard = rooms_->correct_language(spoken.id, bob_, "es", std::string("hola cómo estás"));
  ASSERT_TRUE(heard) << heard.error().message;
  EXPECT_EQ(heard->text, "hola cómo estás");
  EXPECT_EQ(heard->corrected->initial_text, "oh la come estas");
  auto again = rooms_->correct_language(spoken.id, bob_, "pt", std::string("olá como estás"));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->corrected->initial_text, "oh la come estas") << "the first text stays";
  // History search finds the corrected text (the index follows the message's text).
  auto found =
      sql("SELECT COUNT(*) FROM messages WHERE id = $1 AND text = 'olá como estás'", {spoken.id});
  EXPECT_EQ(*found[0].get<std::int64_t>(std::size_t{0}), 1);
}

TEST_P(MessageCorrectionsTest, OnlyMembersCorrectAndBadCorrectionsChangeNothing) {
  const auto message = post("Hola a todos", "en");
  EXPECT_EQ(rooms_->correct_language(message.id, eve_, "es").error().code, Errc::not_found)
      << "an outsider learns nothing of the message";
  EXPECT_EQ(rooms_->correct_language(987654, bob_, "es").error().code, Errc::not_found);
  EXPECT_EQ(rooms_->correct_language(message.id, bob_, "en").error().code, Errc::conflict);
  EXPECT_EQ(rooms_->correct_language(message.id, bob_, "e s").error().code,
            Errc::validation_failed);
  EXPECT_EQ(rooms_->correct_language(message.id, bob_, "").error().code, Errc::validation_failed);
  EXPECT_EQ(rooms_->correct_language(message.id, bob_, "es", std::string(" ")).error().code,
            Errc::validation_failed);
  EXPECT_EQ(
      rooms_->correct_language(message.id, bob_, "es", std::string("bad\x01text")).error().code,
      Errc::validation_failed);
  ASSERT_TRUE(rooms_->ban(room_, ana_, bob_));
  EXPECT_EQ(rooms_->correct_language(message.id, bob_, "es").error().code, Errc::not_found)
      << "a banned member is no longer a reader";
  EXPECT_EQ(corrections_of(message.id), 0);
  auto unchanged = rooms_->find_message(message.id);
  ASSERT_TRUE(unchanged);
  EXPECT_EQ(unchanged->language, "en");
  EXPECT_FALSE(unchanged->corrected);
}

TEST_P(MessageCorrectionsTest, WorkDoneInTheCorrectionsTransactionCommitsOrUndoesItAll) {
  const auto message = post("Hola", "en");
  auto failed = rooms_->correct_language(message.id, bob_, "es", std::nullopt,
                                         [](store::Connection&) -> Result<void> {
                                           return fail(Errc::unavailable, "the other half failed");
                                         });
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, Errc::unavailable);
  EXPECT_EQ(corrections_of(message.id), 0);
  EXPECT_EQ(rooms_->find_message(message.id)->language, "en") << "undone";
  bool ran = false;
  auto done = rooms_->correct_language(
      message.id, bob_, "es", std::nullopt, [&ran](store::Connection& connection) -> Result<void> {
        ran = true;
        auto seen = connection.query("SELECT original_language FROM messages");
        if (!seen) return seen.error();
        return {};
      });
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_TRUE(ran);
  EXPECT_EQ(done->language, "es");
}

TEST_P(MessageCorrectionsTest, TheChecksCanBeAskedWithoutChangingAnything) {
  const auto message = post("Hola", "en");
  auto fine = rooms_->check_correction(message.id, bob_, "es");
  ASSERT_TRUE(fine) << fine.error().message;
  EXPECT_EQ(fine->language, "en");
  EXPECT_EQ(rooms_->check_correction(message.id, bob_, "en").error().code, Errc::conflict);
  EXPECT_EQ(rooms_->check_correction(message.id, eve_, "es").error().code, Errc::not_found);
  EXPECT_EQ(corrections_of(message.id), 0);
}

TEST_P(MessageCorrectionsTest, AMessageTakesALimitedNumberOfCorrections) {
  const auto message = post("Hola", "en");
  for (std::size_t i = 0; i < kMaxCorrectionsPerMessage; ++i) {
    ASSERT_TRUE(rooms_->correct_language(message.id, bob_, i % 2 == 0 ? "es" : "en"));
  }
  auto refused = rooms_->correct_language(message.id, bob_, "pt");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::conflict);
  EXPECT_EQ(corrections_of(message.id), static_cast<std::int64_t>(kMaxCorrectionsPerMessage));
}

TEST_P(MessageCorrectionsTest, ADeletedCorrectorLeavesTheCorrectionWithoutAName) {
  const auto message = post("Hola", "en");
  ASSERT_TRUE(rooms_->correct_language(message.id, bob_, "es"));
  sql("DELETE FROM memberships WHERE user_id = $1", {bob_});
  sql("DELETE FROM users WHERE id = $1", {bob_});
  auto found = rooms_->find_message(message.id);
  ASSERT_TRUE(found);
  ASSERT_TRUE(found->corrected);
  EXPECT_FALSE(found->corrected->by_id);
  EXPECT_TRUE(to_json(*found, "").at("corrected").at("by").is_null());
  EXPECT_EQ(corrections_of(message.id), 1) << "the log stays";
}

// Not a correction, but the same room and members: how a member listens is kept per room.
TEST_P(MessageCorrectionsTest, AMembersListeningChoiceIsKeptPerRoom) {
  auto none = rooms_->listening_choice(room_, bob_);
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_EQ(none->mode, ListeningMode::captions);
  EXPECT_EQ(none->format, "ogg");
  auto set = rooms_->set_listening_choice(room_, bob_, {ListeningMode::cloned, "mp3"});
  ASSERT_TRUE(set) << set.error().message;
  auto got = rooms_->listening_choice(room_, bob_);
  EXPECT_EQ(got->mode, ListeningMode::cloned);
  EXPECT_EQ(got->format, "mp3");
  EXPECT_EQ(rooms_->listening_choice(room_, ana_)->mode, ListeningMode::captions);
  EXPECT_EQ(
      rooms_->set_listening_choice(room_, bob_, {ListeningMode::neutral, "flac"}).error().code,
      Errc::validation_failed);
  EXPECT_EQ(rooms_->set_listening_choice(room_, eve_, {ListeningMode::neutral, "ogg"}).error().code,
            Errc::forbidden);
  EXPECT_EQ(rooms_->listening_choice(room_, eve_).error().code, Errc::forbidden);
  EXPECT_EQ(parse_listening_mode("karaoke").error().code, Errc::validation_failed);
  EXPECT_EQ(*parse_listening_mode("original"), ListeningMode::original);
}

TEST_P(MessageCorrectionsTest, DeclaredSpokenLanguagesRoundTrip) {
  auto none = rooms_->spoken_languages(ana_);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  auto set = users_->set_spoken_languages(ana_, {"en", "es"});
  ASSERT_TRUE(set) << set.error().message;
  EXPECT_EQ(set->spoken_languages, (std::vector<std::string>{"en", "es"}));
  EXPECT_EQ(*rooms_->spoken_languages(ana_), (std::vector<std::string>{"en", "es"}));
  EXPECT_EQ(users_->find_by_id(ana_)->spoken_languages, (std::vector<std::string>{"en", "es"}));
  EXPECT_TRUE(rooms_->spoken_languages(987654)->empty());
}

}  // namespace
}  // namespace parley::chat
