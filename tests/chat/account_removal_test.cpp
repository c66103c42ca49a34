// Removing accounts on PostgreSQL, where several processes change the same rooms at once: a
// removal moves its rooms' members versions (migration 15) in room order, the order every other
// change of several rooms' versions takes, so two removals sharing rooms never deadlock.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "auth/user_store.hpp"
#include "chat/chatroom_service.hpp"
#include "support/chat_database_test.hpp"

namespace parley::chat {
namespace {

using namespace std::chrono_literals;
using testing::DatabaseKind;

class AccountRemovalTest : public testing::ChatDatabaseTest {
 protected:
  // True once a connection to the test's database waits for a lock (within 20 s).
  bool someone_waits_for_a_lock() {
    const auto give_up = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < give_up) {
      auto rows =
          sql("SELECT COUNT(*) AS waiting FROM pg_stat_activity "
              "WHERE datname = current_database() AND wait_event_type = 'Lock'");
      if (!rows.empty()) {
        auto waiting = rows[0].get<std::int64_t>("waiting");
        if (waiting && *waiting > 0) return true;
      }
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  std::int64_t version_of(std::int64_t room) {
    auto rows = sql("SELECT version FROM room_members_versions WHERE chatroom_id = $1", {room});
    if (rows.empty()) return 0;
    auto version = rows[0].get<std::int64_t>("version");
    return version ? *version : 0;
  }
};

// The other change holds the lower room's version, as an ordered change of both rooms would
// first. The removal (a member of both, who joined the higher room first, so its cascade meets
// that one first) waits for the lower room before it touches the higher one: the other change
// goes on to the higher room, and both finish. Taken in the cascade's order instead, each held
// a room the other waited for, and PostgreSQL failed one of them as a deadlock.
TEST_P(AccountRemovalTest, ARemovalMovesItsRoomsVersionsInRoomOrder) {
  const auto owner = testing::create_user(*users_, "olga");
  const auto leaving = testing::create_user(*users_, "lea");
  const auto low = public_room(owner, "low", {});
  const auto high = public_room(owner, "high", {});
  ASSERT_LT(low, high);
  ASSERT_TRUE(rooms_->join(high, leaving, {}));
  ASSERT_TRUE(rooms_->join(low, leaving, {}));
  const auto low_before = version_of(low);
  const auto high_before = version_of(high);

  auto other_pool = open(1);
  ASSERT_TRUE(other_pool);
  auto other = other_pool->acquire();
  ASSERT_TRUE(other);
  const char* move =
      "UPDATE room_members_versions SET version = version + 1 WHERE chatroom_id = $1";
  ASSERT_TRUE((*other)->begin());
  ASSERT_TRUE((*other)->execute(move, {low}));

  std::optional<Result<std::optional<std::string>>> removed;
  std::thread removal([&] { removed = users_->remove(leaving); });
  ASSERT_TRUE(someone_waits_for_a_lock()) << "the removal waits for the lower room";
  auto second = (*other)->execute(move, {high});
  EXPECT_TRUE(second) << "the other change was a deadlock's victim: " << second.error().message;
  EXPECT_TRUE((*other)->commit());
  removal.join();
  ASSERT_TRUE(removed);
  EXPECT_TRUE(*removed) << "the removal was a deadlock's victim: " << removed->error().message;

  auto left = sql("SELECT COUNT(*) AS n FROM memberships WHERE user_id = $1", {leaving});
  EXPECT_EQ(left[0].get<std::int64_t>("n").value(), 0);
  EXPECT_GT(version_of(low), low_before + 1) << "moved by the other change and by the removal";
  EXPECT_GT(version_of(high), high_before + 1);
}

// The maintenance job's removal of idle guests moves their rooms' versions the same way first,
// each room once however many of its guests go.
TEST_P(AccountRemovalTest, IdleGuestsGoWithTheirMembershipsAndTheirRoomsVersionsMove) {
  const auto owner = testing::create_user(*users_, "olga");
  const auto low = public_room(owner, "low", {});
  const auto high = public_room(owner, "high", {});
  std::vector<std::int64_t> guests;
  for (const char* name : {"guest-1", "guest-2"}) {
    auth::NewUser guest;
    guest.username = name;
    guest.provider = auth::AuthProvider::guest;
    auto created = users_->create(guest);
    ASSERT_TRUE(created) << created.error().message;
    guests.push_back(created->id);
    ASSERT_TRUE(rooms_->join(high, created->id, {}));
    ASSERT_TRUE(rooms_->join(low, created->id, {}));
  }
  const auto low_before = version_of(low);
  const auto high_before = version_of(high);

  auto removed = users_->remove_idle_guests(clock_.now_ms() + 1);
  ASSERT_TRUE(removed) << removed.error().message;
  for (auto guest : guests) EXPECT_EQ(users_->find_by_id(guest).error().code, Errc::not_found);
  EXPECT_TRUE(users_->find_by_id(owner)) << "not a guest";
  auto members = sql("SELECT COUNT(*) AS n FROM memberships");
  EXPECT_EQ(members[0].get<std::int64_t>("n").value(), 2) << "the owner's two memberships";
  EXPECT_GT(version_of(low), low_before);
  EXPECT_GT(version_of(high), high_before);
}

INSTANTIATE_TEST_SUITE_P(Backends, AccountRemovalTest, ::testing::Values(DatabaseKind::postgres),
                         testing::backend_name);

}  // namespace
}  // namespace parley::chat
