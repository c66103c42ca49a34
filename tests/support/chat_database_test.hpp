#pragma once
// A migrated database (one per backend) with the account and chat room services on it and a
// clock the test moves: the set-up of tests of what is built on chat rooms.

#include <gtest/gtest.h>

#include <initializer_list>
#include <memory>
#include <string>

#include "auth/user_store.hpp"
#include "chat/chatroom_service.hpp"
#include "support/database_test.hpp"
#include "support/manual_clock.hpp"
#include "support/test_accounts.hpp"

namespace parley::testing {

class ChatDatabaseTest : public MigratedDatabaseTest {
 protected:
  void SetUp() override {
    MigratedDatabaseTest::SetUp();
    if (HasFatalFailure()) return;
    users_ = std::make_unique<auth::UserStore>(*db_, clock_);
    rooms_ = std::make_unique<chat::ChatroomService>(*db_, hasher_, clock_);
  }

  /// A public room `owner` created and `members` joined; 0 (and a failed test) if that failed.
  std::int64_t public_room(std::int64_t owner, const std::string& name,
                           std::initializer_list<std::int64_t> members = {}) {
    chat::CreateChatroomInput input;
    input.name = name;
    auto created = rooms_->create(owner, input);
    EXPECT_TRUE(created) << created.error().message;
    if (!created) return 0;
    for (auto member : members) EXPECT_TRUE(rooms_->join(created->id, member, {}));
    return created->id;
  }

  ManualClock clock_;
  auth::PasswordHasher hasher_ = cheap_hasher();
  std::unique_ptr<auth::UserStore> users_;
  std::unique_ptr<chat::ChatroomService> rooms_;
};

}  // namespace parley::testing
