// MessageBatcher (send_message's group commit) with a real database (SQLite and PostgreSQL) and
// a real worker pool: messages queued while a batch is being stored are stored by the next batch
// in the order they were sent, each answered on its own executor, a failure answers only its own
// sender, and a full queue refuses new messages as busy instead of growing.

#include "events/message_batcher.hpp"

#include <gtest/gtest.h>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "support/chat_database_test.hpp"

namespace parley::events {
namespace {

namespace asio = boost::asio;

// Holds the pool's only worker until released, so that messages pile up in the queue.
class WorkerGate {
 public:
  void close(core::WorkerPool& workers) {
    workers.post([this] {
      std::unique_lock lock(mutex_);
      held_ = true;
      changed_.notify_all();
      changed_.wait(lock, [this] { return open_; });
    });
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return held_; });
  }
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool held_ = false;
  bool open_ = false;
};

class MessageBatcherTest : public testing::ChatDatabaseTest {
 protected:
  void SetUp() override {
    ChatDatabaseTest::SetUp();
    if (HasFatalFailure()) return;
    member_ = testing::create_user(*users_, "mia");
    outsider_ = testing::create_user(*users_, "otto");
    room_ = public_room(member_, "batched");
    ASSERT_NE(room_, 0);
  }

  // Owned by the fixture and declared before the worker pool, so that the pool has joined (the
  // drain may still run after the last answer) before the batcher goes.
  MessageBatcher& batcher(std::size_t max_queued, std::size_t max_batch) {
    batcher_ = std::make_unique<MessageBatcher>(
        MessageBatcherDeps{*rooms_, workers_, "http://parley.test", max_queued, max_batch});
    return *batcher_;
  }

  // Sends `text` as `sender`; the answer lands in answers_[index] on the test's io_context.
  void send(MessageBatcher& batcher, std::size_t index, std::int64_t sender, std::string text) {
    MessageToSend message{room_,           sender,       "socket-" + std::to_string(index),
                          std::move(text), std::nullopt, std::string("en")};
    batcher.async_store(std::move(message),
                        asio::bind_executor(io_, [this, index](Result<StoredForDelivery> result) {
                          answers_[index] = std::move(result);
                          order_.push_back(index);
                        }));
  }

  void run_until_answered(std::size_t count) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (order_.size() < count) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << order_.size() << " of " << count;
      io_.run_for(std::chrono::milliseconds(50));
      io_.restart();
    }
  }

  std::unique_ptr<MessageBatcher> batcher_;
  core::WorkerPool workers_{1, 100};
  asio::io_context io_;
  std::map<std::size_t, Result<StoredForDelivery>> answers_;
  std::vector<std::size_t> order_;
  std::int64_t member_ = 0, outsider_ = 0, room_ = 0;
};

TEST_P(MessageBatcherTest, QueuedMessagesAreStoredInTheOrderTheyWereSent) {
  auto& batched = batcher(1000, 8);
  WorkerGate gate;
  gate.close(workers_);
  constexpr std::size_t kMessages = 30;
  for (std::size_t i = 0; i < kMessages; ++i) {
    send(batched, i, i == 7 ? outsider_ : member_, "message " + std::to_string(i));
  }
  EXPECT_EQ(batched.queued(), kMessages) << "nothing is stored while the worker is busy";
  gate.open();
  run_until_answered(kMessages);

  std::int64_t seq = 0;
  for (std::size_t i = 0; i < kMessages; ++i) {
    const auto& answer = answers_.at(i);
    if (i == 7) {
      ASSERT_FALSE(answer);
      EXPECT_EQ(answer.error().code, Errc::forbidden) << "only its sender hears of a failure";
      continue;
    }
    ASSERT_TRUE(answer) << i << ": " << answer.error().message;
    EXPECT_EQ(answer->message.seq, ++seq) << "stored in the order sent";
    EXPECT_EQ(answer->message.text, "message " + std::to_string(i));
    EXPECT_EQ(answer->shaped.at("text").as_string(), answer->message.text);
    EXPECT_EQ(answer->shaped.at("id").as_int64(), answer->message.id);
  }
  EXPECT_TRUE(std::is_sorted(order_.begin(), order_.end())) << "answered in the order sent";
  EXPECT_EQ(batched.batches(), 4u) << "30 queued messages, at most 8 per transaction";
  EXPECT_EQ(batched.queued(), 0u);
  EXPECT_EQ(rooms_->find(room_)->last_message_seq, static_cast<std::int64_t>(kMessages - 1));
}

TEST_P(MessageBatcherTest, AFullQueueRefusesNewMessagesAsBusy) {
  auto& batched = batcher(3, 64);
  WorkerGate gate;
  gate.close(workers_);
  for (std::size_t i = 0; i < 5; ++i) send(batched, i, member_, "m" + std::to_string(i));
  // The refusals are answered at once, without waiting for the worker.
  run_until_answered(2);
  EXPECT_EQ(answers_.at(3).error().code, Errc::busy);
  EXPECT_EQ(answers_.at(4).error().code, Errc::busy);
  gate.open();
  run_until_answered(5);
  for (std::size_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(answers_.at(i)) << answers_.at(i).error().message;
    EXPECT_EQ(answers_.at(i)->message.seq, static_cast<std::int64_t>(i) + 1);
  }
  // Room again once the queue drained.
  send(batched, 5, member_, "later");
  run_until_answered(6);
  ASSERT_TRUE(answers_.at(5));
  EXPECT_EQ(answers_.at(5)->message.seq, 4);
}

TEST_P(MessageBatcherTest, ALoneMessageIsStoredAtOnce) {
  auto& batched = batcher(1000, 64);
  send(batched, 0, member_, "alone");
  run_until_answered(1);
  ASSERT_TRUE(answers_.at(0)) << answers_.at(0).error().message;
  EXPECT_EQ(answers_.at(0)->message.seq, 1);
  EXPECT_EQ(batched.batches(), 1u);
  EXPECT_EQ(answers_.at(0)->message.language, "en") << "the declared language without detection";
}

// A batch's answers reach their executor in one handler: on the network thread a batch's
// deliveries then run in one turn, before anything posted meanwhile, and share each member's
// write (realtime::EndOfTurnWriter); the thread is woken once per batch.
TEST_P(MessageBatcherTest, ABatchIsAnsweredInOneHandler) {
  auto& batched = batcher(1000, 8);
  WorkerGate gate;
  gate.close(workers_);
  std::vector<int> events;  // answers by index; -1: a handler posted by an answer
  constexpr int kMessages = 8;
  for (int i = 0; i < kMessages; ++i) {
    MessageToSend message{
        room_,        member_,          "socket-" + std::to_string(i), "m" + std::to_string(i),
        std::nullopt, std::string("en")};
    batched.async_store(std::move(message),
                        asio::bind_executor(io_, [this, &events, i](Result<StoredForDelivery> r) {
                          EXPECT_TRUE(r) << r.error().message;
                          events.push_back(i);
                          asio::post(io_, [&events] { events.push_back(-1); });
                        }));
  }
  // Kept busy, so that running it waits for the worker's answer.
  auto busy = asio::make_work_guard(io_);
  gate.open();
  // The first handler starts the batch (at the end of the senders' turn); the next one to run
  // answers the whole batch.
  ASSERT_EQ(io_.run_one(), 1u);
  EXPECT_TRUE(events.empty());
  ASSERT_EQ(io_.run_one_for(std::chrono::seconds(20)), 1u);
  std::vector<int> expected;
  for (int i = 0; i < kMessages; ++i) expected.push_back(i);
  EXPECT_EQ(events, expected);
  busy.reset();
  io_.run_for(std::chrono::milliseconds(50));
  expected.insert(expected.end(), kMessages, -1);
  EXPECT_EQ(events, expected);
  EXPECT_EQ(batched.batches(), 1u);
}

// Sends read in one turn of the network thread are one batch, however long the turn takes:
// storing starts when the turn is over, not with the first send (which would be committed alone
// and the rest in a second transaction).
TEST_P(MessageBatcherTest, SendsOfOneTurnAreStoredAsOneBatch) {
  auto& batched = batcher(1000, 64);
  asio::post(io_, [&] {
    send(batched, 0, member_, "first");
    // Long enough for a worker woken by the first send to have taken it alone.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    for (std::size_t i = 1; i < 5; ++i) send(batched, i, member_, "m" + std::to_string(i));
  });
  run_until_answered(5);
  for (std::size_t i = 0; i < 5; ++i) {
    ASSERT_TRUE(answers_.at(i)) << answers_.at(i).error().message;
    EXPECT_EQ(answers_.at(i)->message.seq, static_cast<std::int64_t>(i) + 1);
  }
  EXPECT_EQ(batched.batches(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Backends, MessageBatcherTest,
                         ::testing::Values(testing::DatabaseKind::sqlite,
                                           testing::DatabaseKind::postgres),
                         testing::backend_name);

}  // namespace
}  // namespace parley::events
