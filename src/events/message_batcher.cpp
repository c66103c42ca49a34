#include "events/message_batcher.hpp"

#include <algorithm>
#include <iterator>
#include <map>

#include "events/translation_events.hpp"

namespace parley::events {

namespace asio = boost::asio;

std::size_t MessageBatcher::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void MessageBatcher::enqueue(MessageToSend message, asio::any_io_executor executor, Done done) {
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() < deps_.max_queued) {
      queue_.push_back(Pending{std::move(message), executor, std::move(done)});
      if (draining_) return;  // the running drain takes it with the next batch
      draining_ = true;
      done = nullptr;
    }
  }
  if (done) {
    asio::post(executor, [done = std::move(done)]() mutable {
      done(fail(Errc::busy, "server is busy, try again shortly"));
    });
    return;
  }
  // The first batch starts once the sender's thread has run the handlers already waiting
  // there: the sends read in the same turn (one per connection that had data) join it, where
  // a worker woken at once would commit this one alone and the rest in a second transaction.
  asio::post(executor, [this] { deps_.workers.post([this] { drain(); }); });
}

void MessageBatcher::answer(std::vector<Pending>& batch,
                            std::vector<Result<StoredForDelivery>>& answers) {
  // One handler for each run of answers bound for the same executor (all of them, with one
  // network thread): a batch's deliveries then run in one turn of that thread, so each member
  // of a room gets the batch's messages in one write (realtime::EndOfTurnWriter), and the
  // network thread is woken once per batch, not once per message.
  using Answer = std::pair<Done, Result<StoredForDelivery>>;
  for (std::size_t first = 0; first < batch.size();) {
    std::size_t end = first + 1;
    while (end < batch.size() && batch[end].executor == batch[first].executor) ++end;
    std::vector<Answer> run;
    run.reserve(end - first);
    for (std::size_t i = first; i < end; ++i) {
      run.emplace_back(std::move(batch[i].done), std::move(answers[i]));
    }
    // Every sender hears of its message exactly once, whatever another's delivery does.
    try {
      asio::post(batch[first].executor, [run = std::move(run)]() mutable {
        for (auto& [done, result] : run) {
          try {
            done(std::move(result));
          } catch (...) {  // NOLINT(bugprone-empty-catch): only this answer's delivery failed
          }
        }
      });
    } catch (...) {  // NOLINT(bugprone-empty-catch): a failed post loses only these answers
    }
    first = end;
  }
}

void MessageBatcher::drain() {
  for (;;) {
    std::vector<Pending> batch;
    {
      std::lock_guard lock(mutex_);
      if (queue_.empty()) {
        draining_ = false;
        return;
      }
      const auto count = static_cast<std::ptrdiff_t>(std::min(queue_.size(), deps_.max_batch));
      batch.assign(std::make_move_iterator(queue_.begin()),
                   std::make_move_iterator(queue_.begin() + count));
      queue_.erase(queue_.begin(), queue_.begin() + count);
    }
    batches_.fetch_add(1, std::memory_order_relaxed);
    std::vector<Result<StoredForDelivery>> answers;
    try {
      answers = store(batch);
    } catch (const std::exception& e) {
      answers.clear();
      answers.assign(batch.size(), fail(Errc::internal, e.what()));
    } catch (...) {
      answers.clear();
      answers.assign(batch.size(), fail(Errc::internal, "storing the messages failed"));
    }
    // The drain goes on with the next batch whatever an answer's delivery does: a drain that
    // stopped would leave draining_ set and every later message waiting.
    answer(batch, answers);
  }
}

std::vector<Result<StoredForDelivery>> MessageBatcher::store(std::vector<Pending>& batch) {
  std::vector<chat::NewMessage> messages;
  messages.reserve(batch.size());
  for (auto& pending : batch) {
    auto& send = pending.message;
    // The message's language: detected, or declared when the text says too little.
    std::optional<std::string> language = send.declared_language;
    if (translations_ != nullptr) {
      language = translations_->language_of_text(send.text, send.declared_language, send.sender_id,
                                                 send.socket_id, send.room_id);
      if (*language == "und") language.reset();
    }
    messages.push_back(chat::NewMessage{send.room_id, send.sender_id, std::move(send.text),
                                        chat::MessageKind::text, std::move(language),
                                        send.client_id, std::nullopt, std::nullopt});
  }
  auto stored = deps_.chatrooms.post_messages(messages);
  // Read once per room and batch, after the batch is stored (by the members version its
  // transaction saw: usually from memory), so that delivering needs no second hop when nobody
  // reads the room in another language. Unreadable: the delivery reads them.
  std::map<std::int64_t, std::optional<std::set<std::string>>> members;
  std::vector<Result<StoredForDelivery>> answers;
  answers.reserve(batch.size());
  for (auto& result : stored) {
    if (!result) {
      answers.emplace_back(result.error());
      continue;
    }
    StoredForDelivery out{std::move(result->message), {}, std::nullopt};
    out.shaped = chat::to_json(out.message, deps_.public_base_url);
    if (translations_ != nullptr) {
      auto known = members.find(out.message.room_id);
      if (known == members.end()) {
        auto read = translations_->member_languages(out.message.room_id, result->members_version);
        known = members
                    .emplace(out.message.room_id,
                             read ? std::optional<std::set<std::string>>(std::move(*read))
                                  : std::nullopt)
                    .first;
      }
      out.members = known->second;
    }
    answers.emplace_back(std::move(out));
  }
  return answers;
}

}  // namespace parley::events
