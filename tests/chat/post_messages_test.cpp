// ChatroomService::post_messages, the group commit behind send_message, on SQLite and
// PostgreSQL: a batch stores its messages in order, with gap-free sequences, and every message
// succeeds or fails on its own (bad text, not a member, unknown room, retries of earlier and of
// same-batch messages) without undoing the others.

#include <gtest/gtest.h>

#include "chat/chatroom_service.hpp"
#include "support/chat_database_test.hpp"

namespace parley::chat {
namespace {

using testing::DatabaseKind;

class PostMessagesTest : public testing::ChatDatabaseTest {
 protected:
  void SetUp() override {
    ChatDatabaseTest::SetUp();
    if (HasFatalFailure()) return;
    owner_ = testing::create_user(*users_, "olga");
    member_ = testing::create_user(*users_, "mia");
    outsider_ = testing::create_user(*users_, "otto");
    room_ = public_room(owner_, "batch", {member_});
    ASSERT_NE(room_, 0);
  }

  NewMessage message(std::int64_t sender, std::string text,
                     std::optional<std::string> client_id = std::nullopt,
                     std::optional<std::int64_t> room = std::nullopt) {
    NewMessage m;
    m.room_id = room.value_or(room_);
    m.sender_id = sender;
    m.text = std::move(text);
    m.language = "en";
    m.client_id = std::move(client_id);
    return m;
  }

  std::vector<StoredMessage> history() {
    auto page = rooms_->messages(room_, owner_, std::nullopt, 100);
    EXPECT_TRUE(page) << page.error().message;
    return page ? page->messages : std::vector<StoredMessage>{};
  }

  std::int64_t owner_ = 0, member_ = 0, outsider_ = 0, room_ = 0;
};

TEST_P(PostMessagesTest, ABatchStoresItsMessagesInOrderWithGapFreeSequences) {
  std::vector<NewMessage> batch;
  for (int i = 0; i < 20; ++i) {
    batch.push_back(message(i % 2 == 0 ? owner_ : member_, "message " + std::to_string(i)));
  }
  auto stored = rooms_->post_messages(batch);
  ASSERT_EQ(stored.size(), batch.size());
  for (std::size_t i = 0; i < stored.size(); ++i) {
    ASSERT_TRUE(stored[i]) << i << ": " << stored[i].error().message;
    EXPECT_EQ(stored[i]->seq, static_cast<std::int64_t>(i) + 1);
    EXPECT_EQ(stored[i]->text, batch[i].text);
    ASSERT_TRUE(stored[i]->sender);
    EXPECT_EQ(stored[i]->sender->id, batch[i].sender_id);
    if (i > 0) {
      EXPECT_GT(stored[i]->id, stored[i - 1]->id);
    }
  }
  const auto kept = history();
  ASSERT_EQ(kept.size(), 20u);
  EXPECT_EQ(kept.front().id, stored.back()->id) << "newest first";
  EXPECT_EQ(rooms_->find(room_)->last_message_seq, 20);
}

TEST_P(PostMessagesTest, EachMessageFailsAloneAndRetriesAnswerWithTheFirstCopy) {
  auto earlier = rooms_->post_messages(std::vector<NewMessage>{message(member_, "before", "c-0")});
  ASSERT_TRUE(earlier.front()) << earlier.front().error().message;

  std::vector<NewMessage> batch{
      message(member_, "first", "c-1"),
      message(member_, ""),                // bad text
      message(outsider_, "not a member"),  // forbidden
      message(member_, "no such room", std::nullopt, room_ + 1000),
      message(member_, "before, sent again", "c-0"),  // retry of an earlier batch
      message(member_, "first, sent again", "c-1"),   // retry within this batch
      message(owner_, "last"),
  };
  auto stored = rooms_->post_messages(batch);
  ASSERT_EQ(stored.size(), batch.size());
  ASSERT_TRUE(stored[0]) << stored[0].error().message;
  EXPECT_EQ(stored[0]->seq, 2);
  EXPECT_EQ(stored[1].error().code, Errc::validation_failed);
  EXPECT_EQ(stored[2].error().code, Errc::forbidden);
  EXPECT_EQ(stored[3].error().code, Errc::not_found);
  ASSERT_TRUE(stored[4]) << stored[4].error().message;
  EXPECT_EQ(stored[4]->id, earlier.front()->id);
  EXPECT_EQ(stored[4]->text, "before") << "a retry answers with what was stored";
  ASSERT_TRUE(stored[5]) << stored[5].error().message;
  EXPECT_EQ(stored[5]->id, stored[0]->id);
  EXPECT_EQ(stored[5]->text, "first");
  ASSERT_TRUE(stored[6]) << stored[6].error().message;
  EXPECT_EQ(stored[6]->seq, 3) << "failures and retries use up no sequence number";

  const auto kept = history();
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_EQ(kept[0].text, "last");
  EXPECT_EQ(kept[1].text, "first");
  EXPECT_EQ(kept[2].text, "before");
  EXPECT_EQ(rooms_->find(room_)->last_message_seq, 3);
}

TEST_P(PostMessagesTest, ABatchOfFailuresStoresNothing) {
  std::vector<NewMessage> batch{message(outsider_, "no"), message(member_, std::string(1, '\a'))};
  auto stored = rooms_->post_messages(batch);
  EXPECT_EQ(stored[0].error().code, Errc::forbidden);
  EXPECT_EQ(stored[1].error().code, Errc::validation_failed);
  EXPECT_TRUE(history().empty());
  EXPECT_EQ(rooms_->find(room_)->last_message_seq, 0);
  EXPECT_TRUE(rooms_->post_messages({}).empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, PostMessagesTest,
                         ::testing::Values(DatabaseKind::sqlite, DatabaseKind::postgres),
                         testing::backend_name);

}  // namespace
}  // namespace parley::chat
