#pragma once
// send_message's storage as a group commit: the messages that arrive while one batch is being
// stored are stored together by the next batch, in one worker hop and one transaction. A lone
// message is a batch of one and costs what a job of its own did; under load the commit's cost
// (page writes, the WAL sync, the write lock's hand-over) is shared by the batch. An idle
// batcher starts storing at the end of the sender's turn, so that the sends read in that turn
// make the first batch together.

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/json/object.hpp>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "chat/chatroom_service.hpp"
#include "core/error.hpp"
#include "core/worker_pool.hpp"

namespace parley::events {

class TranslationEvents;

/// A stored send_message, as the network thread delivers it.
struct StoredForDelivery {
  chat::StoredMessage message;
  boost::json::object shaped;                    ///< the message as its JSON
  std::optional<std::set<std::string>> members;  ///< TranslationEvents::member_languages
};

/// One send_message to store.
struct MessageToSend {
  std::int64_t room_id = 0;
  std::int64_t sender_id = 0;
  std::string socket_id;
  std::string text;
  std::optional<std::string> client_id;
  std::optional<std::string> declared_language;
};

struct MessageBatcherDeps {
  chat::ChatroomService& chatrooms;
  core::WorkerPool& workers;
  std::string public_base_url;
  std::size_t max_queued = 4096;  ///< beyond it a send is refused as busy
  std::size_t max_batch = 64;     ///< messages in one transaction at most
};

class MessageBatcher {
 public:
  explicit MessageBatcher(MessageBatcherDeps deps) : deps_(std::move(deps)) {}
  MessageBatcher(const MessageBatcher&) = delete;
  MessageBatcher& operator=(const MessageBatcher&) = delete;

  /// Languages are detected (and member languages read) through `translations` when set
  /// (once, at start-up).
  void attach_translations(TranslationEvents& translations) { translations_ = &translations; }

  /// Stores the message after those queued before it; completes with
  /// Result<StoredForDelivery> on the handler's executor. Errors: busy when max_queued
  /// messages wait; ChatroomService::post_message's otherwise.
  template <class CompletionToken>
  auto async_store(MessageToSend message, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, void(Result<StoredForDelivery>)>(
        [this](auto handler, MessageToSend queued_message) {
          auto executor = boost::asio::get_associated_executor(handler);
          // Shared so that the queue's entries stay copyable; called once, on `executor`.
          auto shared = std::make_shared<decltype(handler)>(std::move(handler));
          enqueue(std::move(queued_message), std::move(executor),
                  [shared](Result<StoredForDelivery> result) {
                    std::move (*shared)(std::move(result));
                  });
        },
        token, std::move(message));
  }

  /// Messages waiting for a batch now (for tests and metrics).
  std::size_t queued() const;
  /// Batches stored since start (each one transaction).
  std::uint64_t batches() const { return batches_.load(std::memory_order_relaxed); }

 private:
  /// Completes one async_store; called on its executor.
  using Done = std::function<void(Result<StoredForDelivery>)>;
  struct Pending {
    MessageToSend message;
    boost::asio::any_io_executor executor;
    Done done;
  };

  void enqueue(MessageToSend message, boost::asio::any_io_executor executor, Done done);
  /// Hands a stored batch's answers to their executors.
  static void answer(std::vector<Pending>& batch, std::vector<Result<StoredForDelivery>>& answers);
  /// On a worker: stores batches until the queue is empty.
  void drain();
  std::vector<Result<StoredForDelivery>> store(std::vector<Pending>& batch);

  MessageBatcherDeps deps_;
  TranslationEvents* translations_ = nullptr;
  mutable std::mutex mutex_;
  std::deque<Pending> queue_;
  bool draining_ = false;  // a worker is storing batches and takes what is queued
  std::atomic<std::uint64_t> batches_{0};
};

}  // namespace parley::events
