#pragma once
// What the real-time layer learns from the chat-room service: it is told after a change has
// been committed, so that it can disconnect removed members and push room updates. Messages sent
// over the real-time connection are stored and delivered by the real-time layer itself; only
// messages posted through HTTP (audio uploads) are announced here.

#include <cstdint>
#include <string_view>

#include "chat/chatroom.hpp"

namespace parley::chat {

/// Implemented by the real-time server. Every callback runs on the worker thread that made the
/// change, after its transaction committed, and must not block (post to your own executor).
/// Callbacks may run concurrently from several workers: implementations must be thread-safe.
/// They must not throw.
class ChatroomObserver {
 public:
  virtual ~ChatroomObserver() = default;
  /// `user_id` is no longer a member. `reason` is "left", "kicked" or "banned".
  virtual void member_removed(std::int64_t room_id, std::int64_t user_id,
                              std::string_view reason) = 0;
  /// The room and everything in it is gone (deleted by its owner, or its last member left).
  virtual void room_deleted(std::int64_t room_id) = 0;
  /// The room's public fields changed (name, photo).
  virtual void room_updated(const Chatroom& room) = 0;
  /// A message was stored outside the real-time layer and must be delivered to the room.
  virtual void message_posted(const StoredMessage& message) = 0;
};

/// The observer used until a real one is set: does nothing.
class NoopChatroomObserver final : public ChatroomObserver {
 public:
  void member_removed(std::int64_t, std::int64_t, std::string_view) override {}
  void room_deleted(std::int64_t) override {}
  void room_updated(const Chatroom&) override {}
  void message_posted(const StoredMessage&) override {}
};

}  // namespace parley::chat
