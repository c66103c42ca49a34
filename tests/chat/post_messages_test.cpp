// ChatroomService::post_messages, the group commit behind send_message, on SQLite and
// PostgreSQL: a batch stores its messages in order, with gap-free sequences, and every message
// succeeds or fails on its own (bad text, not a member, unknown room, retries of earlier and of
// same-batch messages) without undoing the others.

#include <gtest/gtest.h>

#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "chat/chatroom_service.hpp"
#include "store/database.hpp"
#include "store/migrations/migrator.hpp"
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
  ASSERT_TRUE(users_->set_avatar(member_, "mia.png"));
  std::vector<NewMessage> batch;
  for (int i = 0; i < 20; ++i) {
    batch.push_back(message(i % 2 == 0 ? owner_ : member_, "message " + std::to_string(i)));
  }
  auto stored = rooms_->post_messages(batch);
  ASSERT_EQ(stored.size(), batch.size());
  for (std::size_t i = 0; i < stored.size(); ++i) {
    ASSERT_TRUE(stored[i]) << i << ": " << stored[i].error().message;
    EXPECT_EQ(stored[i]->message.seq, static_cast<std::int64_t>(i) + 1);
    EXPECT_EQ(stored[i]->message.text, batch[i].text);
    ASSERT_TRUE(stored[i]->message.sender);
    EXPECT_EQ(stored[i]->message.sender->id, batch[i].sender_id);
    // As the history shows it: the sender's name and picture come with the stored message.
    EXPECT_EQ(stored[i]->message.sender->username, i % 2 == 0 ? "olga" : "mia");
    EXPECT_EQ(stored[i]->message.sender->avatar_path,
              i % 2 == 0 ? std::nullopt : std::optional<std::string>("mia.png"));
    if (i > 0) {
      EXPECT_GT(stored[i]->message.id, stored[i - 1]->message.id);
    }
  }
  const auto kept = history();
  ASSERT_EQ(kept.size(), 20u);
  EXPECT_EQ(kept.front().id, stored.back()->message.id) << "newest first";
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
  EXPECT_EQ(stored[0]->message.seq, 2);
  EXPECT_EQ(stored[1].error().code, Errc::validation_failed);
  EXPECT_EQ(stored[2].error().code, Errc::forbidden);
  EXPECT_EQ(stored[3].error().code, Errc::not_found);
  ASSERT_TRUE(stored[4]) << stored[4].error().message;
  EXPECT_EQ(stored[4]->message.id, earlier.front()->message.id);
  EXPECT_FALSE(stored[4]->members_version) << "a retry's first copy was stored by another";
  EXPECT_EQ(stored[4]->message.text, "before") << "a retry answers with what was stored";
  ASSERT_TRUE(stored[5]) << stored[5].error().message;
  EXPECT_EQ(stored[5]->message.id, stored[0]->message.id);
  EXPECT_EQ(stored[5]->message.text, "first");
  ASSERT_TRUE(stored[6]) << stored[6].error().message;
  EXPECT_EQ(stored[6]->message.seq, 3) << "failures and retries use up no sequence number";

  const auto kept = history();
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_EQ(kept[0].text, "last");
  EXPECT_EQ(kept[1].text, "first");
  EXPECT_EQ(kept[2].text, "before");
  EXPECT_EQ(rooms_->find(room_)->last_message_seq, 3);
}

// A stored message carries the room's members version from its own transaction, so that its
// delivery reads the room's listening languages without reading the version again: a change of
// the members between two messages shows in the second one's version and languages.
TEST_P(PostMessagesTest, AStoredMessageCarriesTheMembersVersionItsTransactionSaw) {
  auto first = rooms_->post_messages(std::vector<NewMessage>{message(member_, "one")});
  ASSERT_TRUE(first.front()) << first.front().error().message;
  ASSERT_TRUE(first.front()->members_version);
  const std::int64_t before = *first.front()->members_version;
  EXPECT_GT(before, 0) << "the member's join moved it";
  EXPECT_EQ(*rooms_->listening_languages(room_, before), (std::vector<std::string>{"en"}));

  ASSERT_TRUE(users_->set_preferred_language(member_, "es"));
  auto second =
      rooms_->post_messages(std::vector<NewMessage>{message(owner_, "two"), message(member_, "3")});
  ASSERT_TRUE(second[0] && second[1]);
  ASSERT_TRUE(second[0]->members_version);
  const std::int64_t after = *second[0]->members_version;
  EXPECT_GT(after, before);
  EXPECT_EQ(second[1]->members_version, after) << "one transaction, one version";
  EXPECT_EQ(*rooms_->listening_languages(room_, after), (std::vector<std::string>{"en", "es"}));
  // A delivery still holding the older version reads the members again (never the old list).
  EXPECT_EQ(*rooms_->listening_languages(room_, before), (std::vector<std::string>{"en", "es"}));

  // At the version they were read at, the languages come from memory: a change that (here, by
  // hand) leaves the version where it was is not seen; the service's own read of the version
  // is still what decides for callers without one.
  ASSERT_TRUE(users_->set_preferred_language(member_, "fr"));
  ASSERT_TRUE(db_->acquire().value()->execute(
      "UPDATE room_members_versions SET version = $1 WHERE chatroom_id = $2", {after, room_}));
  EXPECT_EQ(*rooms_->listening_languages(room_, after), (std::vector<std::string>{"en", "es"}));
  EXPECT_EQ(*rooms_->listening_languages(room_), (std::vector<std::string>{"en", "es"}));
  ASSERT_TRUE(db_->acquire().value()->execute(
      "UPDATE room_members_versions SET version = $1 WHERE chatroom_id = $2", {after + 1, room_}));
  EXPECT_EQ(*rooms_->listening_languages(room_), (std::vector<std::string>{"en", "fr"}));
}

// Every statement runs on a real connection, but the lookup of a retry's first copy fails
// there for real: an SQL error on the same connection, so PostgreSQL aborts the transaction as
// it would for a statement timeout.
class FirstCopyLookupFails final : public store::Connection {
 public:
  explicit FirstCopyLookupFails(store::Connection& real) : real_(real) {}
  Result<void> begin() override { return real_.begin(); }
  Result<void> commit() override { return real_.commit(); }
  Result<void> rollback() override { return real_.rollback(); }
  [[nodiscard]] bool in_transaction() const noexcept override { return real_.in_transaction(); }
  [[nodiscard]] store::Dialect dialect() const noexcept override { return real_.dialect(); }

 private:
  Result<store::Rows> do_query(std::string_view sql,
                               std::span<const store::Value> params) override {
    if (sql.find("m.client_id = $3") == std::string_view::npos) return real_.query(sql, params);
    auto failed = real_.query("SELECT no_such_column FROM messages");
    if (failed) return fail(Errc::internal, "the failing statement did not fail");
    return failed.error();
  }
  Result<std::int64_t> do_execute(std::string_view sql,
                                  std::span<const store::Value> params) override {
    return real_.execute(sql, params);
  }
  Result<void> do_execute_script(std::string_view sql) override {
    return real_.execute_script(sql);
  }

  store::Connection& real_;
};

// The test's database, each leased connection wrapped in FirstCopyLookupFails.
class DatabaseWhereFirstCopyLookupsFail final : public store::Database,
                                                private store::ConnectionLease::Owner {
 public:
  explicit DatabaseWhereFirstCopyLookupsFail(store::Database& real)
      : real_(real), slots_(real.pool_size()) {}

  Result<store::ConnectionLease> acquire() override { return wrap(real_.acquire()); }
  Result<store::ConnectionLease> acquire(std::chrono::steady_clock::time_point deadline) override {
    return wrap(real_.acquire(deadline));
  }
  Result<void> ping() override { return real_.ping(); }
  [[nodiscard]] store::Dialect dialect() const noexcept override { return real_.dialect(); }
  [[nodiscard]] std::size_t pool_size() const noexcept override { return real_.pool_size(); }
  [[nodiscard]] PoolStats pool_stats() const noexcept override { return real_.pool_stats(); }

 private:
  struct Slot {
    store::ConnectionLease real;
    std::unique_ptr<FirstCopyLookupFails> wrapped;
  };

  Result<store::ConnectionLease> wrap(Result<store::ConnectionLease> lease) {
    if (!lease) return lease.error();
    std::lock_guard lock(mutex_);
    for (std::size_t slot = 0; slot < slots_.size(); ++slot) {
      if (slots_[slot].wrapped) continue;
      slots_[slot].wrapped = std::make_unique<FirstCopyLookupFails>(**lease);
      slots_[slot].real = std::move(*lease);
      return store::ConnectionLease(*this, slot, *slots_[slot].wrapped);
    }
    return fail(Errc::internal, "more leases than the pool has connections");
  }
  void release(std::size_t slot) noexcept override {
    Slot done;
    std::lock_guard lock(mutex_);
    std::swap(done, slots_[slot]);  // the real lease goes back after the wrapper is gone
  }

  store::Database& real_;
  std::mutex mutex_;
  std::vector<Slot> slots_;
};

// A retry in a batch whose first copy cannot be looked up fails alone: on PostgreSQL the
// lookup's error aborts the transaction, which goes back to the message's savepoint once more,
// so the batch's other messages are still stored.
TEST_P(PostMessagesTest, ARetryWhoseFirstCopyCannotBeReadFailsAlone) {
  auto earlier = rooms_->post_messages(std::vector<NewMessage>{message(member_, "before", "c-0")});
  ASSERT_TRUE(earlier.front()) << earlier.front().error().message;

  DatabaseWhereFirstCopyLookupsFail failing(*db_);
  ChatroomService rooms(failing, hasher_, clock_);
  std::vector<NewMessage> batch{
      message(member_, "first"),
      message(member_, "before, sent again", "c-0"),  // its first copy's lookup fails
      message(owner_, "last"),
  };
  auto stored = rooms.post_messages(batch);
  ASSERT_EQ(stored.size(), batch.size());
  ASSERT_TRUE(stored[0]) << stored[0].error().message;
  EXPECT_FALSE(stored[1]) << "the lookup failed";
  ASSERT_TRUE(stored[2]) << stored[2].error().message;
  EXPECT_EQ(stored[0]->message.seq, 2);
  EXPECT_EQ(stored[2]->message.seq, 3);

  const auto kept = history();
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_EQ(kept[0].text, "last");
  EXPECT_EQ(kept[1].text, "first");
  EXPECT_EQ(kept[2].text, "before");
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

// Migration 16: a typed message enters two fewer indexes (none for recordings, none of its own
// for the sender), and each lookup still has an index.
TEST_P(PostMessagesTest, EachMessageLookupUsesAnIndexWithoutTheTwoMigration16Dropped) {
  const bool sqlite = GetParam() == DatabaseKind::sqlite;
  const auto text_at = [](const store::Row& row, std::size_t column) {
    auto text = row.get<std::string>(column);
    return text ? *text : std::string();
  };
  std::set<std::string> names;
  for (const auto& row :
       sql(sqlite ? "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'messages'"
                  : "SELECT indexname FROM pg_indexes WHERE tablename = 'messages'")) {
    names.insert(text_at(row, 0));
  }
  EXPECT_FALSE(names.contains("messages_audio_path_idx"));
  EXPECT_FALSE(names.contains("messages_sender_id_idx"));
  EXPECT_FALSE(names.contains("messages_client_id_idx"));
  EXPECT_TRUE(names.contains("messages_sender_client_idx"));
  EXPECT_TRUE(names.contains("messages_audio_file_idx"));
  const auto audio_index =
      sql(sqlite ? "SELECT sql FROM sqlite_master WHERE name = 'messages_audio_file_idx'"
                 : "SELECT indexdef FROM pg_indexes WHERE indexname = 'messages_audio_file_idx'");
  ASSERT_EQ(audio_index.size(), 1u);
  EXPECT_NE(text_at(audio_index[0], 0)
                .find(sqlite ? "WHERE audio_path IS NOT NULL" : "WHERE (audio_path IS NOT NULL)"),
            std::string::npos);

  auto lease = db_->acquire();
  ASSERT_TRUE(lease);
  store::Connection& connection = **lease;
  // PostgreSQL reads tables this small sequentially: asked not to, it shows the index it can use.
  if (!sqlite) {
    ASSERT_TRUE(connection.execute("SET enable_seqscan = off"));
  }
  const auto plan_of = [&](const std::string& query, std::initializer_list<store::Value> params) {
    auto rows = connection.query((sqlite ? "EXPLAIN QUERY PLAN " : "EXPLAIN ") + query, params);
    EXPECT_TRUE(rows) << rows.error().message;
    std::string plan;
    for (const auto& row : rows ? *rows : store::Rows{}) {
      plan += text_at(row, sqlite ? 3 : 0) + "\n";
    }
    return plan;
  };
  const auto recording = plan_of("SELECT chatroom_id FROM messages WHERE audio_path = $1 LIMIT 1",
                                 {std::string("a.webm")});
  EXPECT_NE(recording.find("messages_audio_file_idx"), std::string::npos) << recording;
  const auto retry = plan_of(
      "SELECT id FROM messages WHERE chatroom_id = $1 AND sender_id = $2 AND client_id = $3",
      {room_, member_, std::string("c-1")});
  EXPECT_NE(retry.find("messages_sender_client_idx"), std::string::npos) << retry;
  // What the foreign key's ON DELETE SET NULL looks for when an account goes.
  const auto senders = plan_of("SELECT id FROM messages WHERE sender_id = $1", {member_});
  EXPECT_NE(senders.find("messages_sender_client_idx"), std::string::npos) << senders;
  if (!sqlite) {
    EXPECT_TRUE(connection.execute("RESET enable_seqscan"));
  }
}

// Messages stored before migration 16 keep what its indexes are for: a retry of one is still
// answered with the first copy, its recording is still found, and its sender can still go.
TEST_P(PostMessagesTest, MessagesStoredBeforeMigration16KeepTheirRetryRecordingAndSender) {
  testing::TestDatabase older(GetParam());
  auto db = store::open_database(older.url());
  ASSERT_TRUE(db) << db.error().message;
  std::vector<store::Migration> before;
  for (const auto& m : store::embedded_migrations()) {
    if (m.version < 16) before.push_back(m);
  }
  ASSERT_TRUE(store::migrate(**db, before));
  auth::UserStore users(**db, clock_);
  ChatroomService rooms(**db, hasher_, clock_);
  const auto owner = testing::create_user(users, "olga");
  const auto member = testing::create_user(users, "mia");
  CreateChatroomInput input;
  input.name = "before";
  auto room = rooms.create(owner, input);
  ASSERT_TRUE(room) << room.error().message;
  ASSERT_TRUE(rooms.join(room->id, member, {}));
  auto typed = rooms.post_message(room->id, member, "typed", MessageKind::text, "en", "c-1");
  ASSERT_TRUE(typed) << typed.error().message;
  auto spoken = rooms.post_message(room->id, owner, "spoken", MessageKind::speech, "en",
                                   std::nullopt, std::string("spoken.webm"));
  ASSERT_TRUE(spoken) << spoken.error().message;

  auto migrated = store::migrate(**db);
  ASSERT_TRUE(migrated) << migrated.error().message;
  ASSERT_FALSE(migrated->applied.empty());
  EXPECT_EQ(migrated->applied.front(), 16);

  auto retried =
      rooms.post_message(room->id, member, "typed again", MessageKind::text, "en", "c-1");
  ASSERT_TRUE(retried) << retried.error().message;
  EXPECT_EQ(retried->id, typed->id);
  EXPECT_EQ(retried->text, "typed");
  auto other_sender = rooms.post_message(room->id, owner, "same client id, other sender",
                                         MessageKind::text, "en", "c-1");
  ASSERT_TRUE(other_sender) << other_sender.error().message;
  EXPECT_NE(other_sender->id, typed->id);
  auto found = rooms.room_of_audio("spoken.webm", member);
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_EQ(*found, room->id);

  ASSERT_TRUE(users.remove(member));
  auto page = rooms.messages(room->id, owner, std::nullopt, 10);
  ASSERT_TRUE(page) << page.error().message;
  ASSERT_EQ(page->messages.size(), 3u);
  EXPECT_EQ(page->messages.back().text, "typed") << "a deleted sender's messages stay";
  EXPECT_FALSE(page->messages.back().sender);
}

INSTANTIATE_TEST_SUITE_P(Backends, PostMessagesTest,
                         ::testing::Values(DatabaseKind::sqlite, DatabaseKind::postgres),
                         testing::backend_name);

}  // namespace
}  // namespace parley::chat
