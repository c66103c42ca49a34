// Room glossaries as stored, on SQLite and PostgreSQL: who may read and change them, versions
// and history, proposals and their decisions, and what the translator sees.
#include "glossary/glossary_store.hpp"

#include <gtest/gtest.h>

#include <memory>

#include "auth/password_hasher.hpp"
#include "auth/user_store.hpp"
#include "chat/chatroom_service.hpp"
#include "support/chat_database_test.hpp"
#include "support/manual_clock.hpp"
#include "support/test_accounts.hpp"

namespace parley::glossary {
namespace {

using testing::DatabaseKind;

class GlossaryStoreTest : public testing::ChatDatabaseTest {
 protected:
  void SetUp() override {
    clock_.set(1'795'766'400'000);
    ChatDatabaseTest::SetUp();
    if (HasFatalFailure()) return;
    store_ = std::make_unique<GlossaryStore>(*db_, *rooms_, clock_);
    ana_ = testing::create_user(*users_, "ana");
    bob_ = testing::create_user(*users_, "bob");
    eve_ = testing::create_user(*users_, "eve");
    auto room = rooms_->create(ana_, {"glossary", false, std::nullopt, std::nullopt});
    ASSERT_TRUE(room) << room.error().message;
    room_ = room->id;
    ASSERT_TRUE(rooms_->join(room_, bob_, {}));
  }

  TermInput term(std::string text, std::map<std::string, std::string> translations,
                 std::optional<std::string> pronunciation = std::nullopt) {
    return TermInput{std::move(text), std::move(translations), std::move(pronunciation)};
  }

  std::unique_ptr<GlossaryStore> store_;
  std::int64_t ana_ = 0;
  std::int64_t bob_ = 0;
  std::int64_t eve_ = 0;
  std::int64_t room_ = 0;
};

INSTANTIATE_TEST_SUITE_P(Backends, GlossaryStoreTest,
                         ::testing::Values(DatabaseKind::sqlite, DatabaseKind::postgres),
                         testing::backend_name);

TEST_P(GlossaryStoreTest, OwnersSetTermsMembersReadThemAndEachChangeIsAVersion) {
  EXPECT_EQ(store_->set_term(room_, bob_, term("release notes", {{"es", "notas"}})).error().code,
            Errc::forbidden);
  EXPECT_EQ(store_->glossary(room_, eve_).error().code, Errc::not_found);
  auto first =
      store_->set_term(room_, ana_, term("Release notes", {{"es-ES", "notas de versión"}}));
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->version, 1);
  ASSERT_EQ(first->terms.size(), 1u);
  EXPECT_EQ(first->terms[0].translations,
            (std::vector<std::pair<std::string, std::string>>{{"es", "notas de versión"}}));
  // The same term however it is spelled: replaced, not added.
  auto second =
      store_->set_term(room_, ana_, term("release  NOTES", {{"es", "notas"}, {"de", "Hinweise"}}));
  ASSERT_TRUE(second);
  EXPECT_EQ(second->version, 2);
  ASSERT_EQ(second->terms.size(), 1u);
  EXPECT_EQ(second->terms[0].term, "release  NOTES");
  auto read = store_->glossary(room_, bob_);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->version, 2);

  EXPECT_TRUE(store_->may_apply(room_, "the release notes"));
  EXPECT_FALSE(store_->may_apply(room_, "nothing"));
  auto terms = store_->terms(room_);
  ASSERT_TRUE(terms);
  EXPECT_EQ(terms->size(), 1u);

  auto removed = store_->remove_term(room_, ana_, second->terms[0].id);
  ASSERT_TRUE(removed);
  EXPECT_EQ(removed->version, 3);
  EXPECT_TRUE(removed->terms.empty());
  EXPECT_FALSE(store_->may_apply(room_, "the release notes"));
  EXPECT_EQ(store_->remove_term(room_, ana_, second->terms[0].id).error().code, Errc::not_found);

  auto history = store_->history(room_, bob_, 10, std::nullopt);
  ASSERT_TRUE(history);
  ASSERT_EQ(history->size(), 3u);
  EXPECT_EQ((*history)[0].action, "remove");
  EXPECT_TRUE((*history)[0].after.is_null());
  EXPECT_EQ((*history)[1].before.as_object().at("translations").as_object().at("es"),
            "notas de versión");
  EXPECT_TRUE((*history)[2].before.is_null());
  EXPECT_EQ(*(*history)[2].changed_by, ana_);
  auto older = store_->history(room_, bob_, 10, 2);
  ASSERT_TRUE(older);
  EXPECT_EQ(older->size(), 1u);
}

TEST_P(GlossaryStoreTest, BadTermsAreRefused) {
  EXPECT_EQ(store_->set_term(room_, ana_, term("x", {})).error().code, Errc::validation_failed);
  EXPECT_EQ(store_->set_term(room_, ana_, term("x", {{"??", "y"}})).error().code,
            Errc::validation_failed);
  EXPECT_EQ(store_->set_term(room_, ana_, term("", {{"es", "y"}})).error().code,
            Errc::validation_failed);
  EXPECT_EQ(store_->set_term(room_, ana_, term("x", {{"es", " "}})).error().code,
            Errc::validation_failed);
  EXPECT_EQ(store_->set_term(room_, ana_, term("x", {{"es", "y"}, {"ES", "z"}})).error().code,
            Errc::validation_failed);
  // A pronunciation alone is a term too (a name said a certain way).
  auto said = store_->set_term(room_, ana_, term("Nguyen", {}, "win"));
  ASSERT_TRUE(said) << said.error().message;
  EXPECT_EQ(said->terms[0].pronunciation, "win");
  EXPECT_EQ(store_->set_term(room_ + 999, ana_, term("x", {{"es", "y"}})).error().code,
            Errc::not_found);
}

TEST_P(GlossaryStoreTest, ProposalsAreAcceptedIntoTheTermOrRejected) {
  auto message = rooms_->post_message(room_, bob_, "The deadline is Friday",
                                      chat::MessageKind::text, "en", std::nullopt, std::nullopt);
  ASSERT_TRUE(message);
  ASSERT_TRUE(store_->set_term(room_, ana_, term("deadline", {{"es", "plazo"}}, "ded line")));
  EXPECT_EQ(
      store_->propose(room_, bob_, {message->id, "weekend", "de", "Wochenende", {}}).error().code,
      Errc::validation_failed);
  EXPECT_EQ(
      store_->propose(room_, eve_, {std::nullopt, "deadline", "de", "Frist", {}}).error().code,
      Errc::not_found);
  auto proposal =
      store_->propose(room_, bob_, {message->id, "Deadline", "de-AT", "Frist", "shorter"});
  ASSERT_TRUE(proposal) << proposal.error().message;
  EXPECT_EQ(proposal->status, "open");
  EXPECT_EQ(proposal->language, "de");
  auto other = store_->propose(room_, bob_, {std::nullopt, "Friday", "es", "viernes", {}});
  ASSERT_TRUE(other);

  EXPECT_EQ(store_->decide(room_, bob_, proposal->id, true).error().code, Errc::forbidden);
  auto accepted = store_->decide(room_, ana_, proposal->id, true);
  ASSERT_TRUE(accepted) << accepted.error().message;
  EXPECT_EQ(accepted->status, "accepted");
  EXPECT_EQ(accepted->version, 2);
  EXPECT_EQ(store_->decide(room_, ana_, proposal->id, false).error().code, Errc::conflict);
  auto rejected = store_->decide(room_, ana_, other->id, false);
  ASSERT_TRUE(rejected);
  EXPECT_EQ(rejected->status, "rejected");
  EXPECT_FALSE(rejected->version);

  // Merged: the other language and the pronunciation stay.
  auto glossary = store_->glossary(room_, bob_);
  ASSERT_TRUE(glossary);
  ASSERT_EQ(glossary->terms.size(), 1u);
  EXPECT_EQ(glossary->terms[0].pronunciation, "ded line");
  EXPECT_EQ(glossary->terms[0].translations,
            (std::vector<std::pair<std::string, std::string>>{{"de", "Frist"}, {"es", "plazo"}}));

  auto mine = store_->proposals(room_, bob_, std::nullopt);
  ASSERT_TRUE(mine);
  EXPECT_EQ(mine->size(), 2u);
  auto open = store_->proposals(room_, ana_, std::string("open"));
  ASSERT_TRUE(open);
  EXPECT_TRUE(open->empty());
  EXPECT_EQ(store_->proposals(room_, ana_, std::string("maybe")).error().code,
            Errc::validation_failed);
}

TEST_P(GlossaryStoreTest, AnotherProcessSeesChangesWhenItReadsTheRoom) {
  GlossaryStore other(*db_, *rooms_, clock_);
  ASSERT_TRUE(store_->set_term(room_, ana_, term("Parley", {{"es", "Parley"}})));
  EXPECT_FALSE(other.may_apply(room_, "Parley rocks"));  // not read yet
  ASSERT_TRUE(other.load_all());
  EXPECT_TRUE(other.may_apply(room_, "Parley rocks"));
}

}  // namespace
}  // namespace parley::glossary
