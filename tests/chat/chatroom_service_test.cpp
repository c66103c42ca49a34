// ChatroomService with a real SQLite database and an injected clock: membership and its roles,
// private rooms (password throttle, invitations that expire, are revoked or used up), bans,
// message storage (sequence, idempotent retries, validation) and paging, search escaping, and
// the observer being told after each change.

#include "chat/chatroom_service.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>

#include "auth/user_store.hpp"
#include "store/migrations/migrator.hpp"
#include "support/test_accounts.hpp"
#include "support/test_database.hpp"

namespace parley::chat {
namespace {

using namespace std::chrono_literals;

class ManualClock final : public core::Clock {
 public:
  std::int64_t now_ms() const override { return now.load(); }
  void advance(std::chrono::milliseconds by) { now += by.count(); }
  std::atomic<std::int64_t> now{1'700'000'000'000};
};

class RecordingObserver final : public ChatroomObserver {
 public:
  void member_removed(std::int64_t room_id, std::int64_t user_id,
                      std::string_view reason) override {
    std::lock_guard lock(mutex_);
    events_.push_back("removed " + std::to_string(room_id) + " " + std::to_string(user_id) + " " +
                      std::string(reason));
  }
  void room_deleted(std::int64_t room_id) override {
    std::lock_guard lock(mutex_);
    events_.push_back("deleted " + std::to_string(room_id));
  }
  void room_updated(const Chatroom& room) override {
    std::lock_guard lock(mutex_);
    events_.push_back("updated " + std::to_string(room.id) + " " + room.name);
  }
  void message_posted(const StoredMessage& message) override {
    std::lock_guard lock(mutex_);
    events_.push_back("posted " + std::to_string(message.id));
  }
  std::vector<std::string> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> events_;
};

class ChatroomServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::open_database(database_.url());
    ASSERT_TRUE(db) << db.error().message;
    db_ = std::move(*db);
    ASSERT_TRUE(store::migrate(*db_));
    users_ = std::make_unique<auth::UserStore>(*db_, clock_);
    rooms_ = std::make_unique<ChatroomService>(*db_, hasher_, clock_);
    rooms_->set_observer(&observer_);
    owner_ = user("olga");
    admin_ = user("adam");
    member_ = user("mia");
    outsider_ = user("otto");
  }

  std::int64_t user(const std::string& name) { return testing::create_user(*users_, name); }

  Chatroom room(const std::string& name, bool is_private = false,
                std::optional<std::string> password = std::nullopt) {
    CreateChatroomInput input;
    input.name = name;
    input.is_private = is_private;
    input.password = std::move(password);
    auto created = rooms_->create(owner_, input);
    EXPECT_TRUE(created) << created.error().message;
    return created ? *created : Chatroom{};
  }

  // A public room with owner, one admin and one member.
  Chatroom staffed_room() {
    auto r = room("staffed");
    EXPECT_TRUE(rooms_->join(r.id, admin_, {}));
    EXPECT_TRUE(rooms_->join(r.id, member_, {}));
    EXPECT_TRUE(rooms_->promote(r.id, owner_, admin_));
    return r;
  }

  Result<StoredMessage> say(std::int64_t room_id, std::int64_t sender, const std::string& text,
                            std::optional<std::string> client_id = std::nullopt) {
    return rooms_->post_message(room_id, sender, text, MessageKind::text, std::string("en"),
                                client_id);
  }

  testing::TestDatabase database_{testing::DatabaseKind::sqlite};
  std::unique_ptr<store::Database> db_;
  ManualClock clock_;
  auth::PasswordHasher hasher_ = testing::cheap_hasher();
  RecordingObserver observer_;
  std::unique_ptr<auth::UserStore> users_;
  std::unique_ptr<ChatroomService> rooms_;
  std::int64_t owner_ = 0, admin_ = 0, member_ = 0, outsider_ = 0;
};

TEST_F(ChatroomServiceTest, CreateMakesTheCreatorOwnerAndChecksTheName) {
  auto r = room("  Lobby  ");
  EXPECT_EQ(r.name, "Lobby");
  EXPECT_EQ(r.member_count, 1);
  EXPECT_EQ(r.creator_id, owner_);
  EXPECT_EQ(r.created_at, clock_.now_ms());
  auto m = rooms_->membership(r.id, owner_);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->role, Role::owner);

  for (const std::string& bad :
       std::vector<std::string>{"", "   ", std::string(101, 'x'), "tab\tname", "bad\xFF"}) {
    CreateChatroomInput input;
    input.name = bad;
    auto created = rooms_->create(owner_, input);
    ASSERT_FALSE(created) << bad;
    EXPECT_EQ(created.error().code, Errc::validation_failed) << bad;
  }
  CreateChatroomInput exact;
  exact.name = std::string(100, 'x');
  EXPECT_TRUE(rooms_->create(owner_, exact));

  CreateChatroomInput public_with_password;
  public_with_password.name = "open";
  public_with_password.password = "secret";
  EXPECT_EQ(rooms_->create(owner_, public_with_password).error().code, Errc::validation_failed);

  CreateChatroomInput located;
  located.name = "cafe";
  located.location = Location{48.85, 2.35, 1.5, std::string("Le Procope")};
  auto with_location = rooms_->create(owner_, located);
  ASSERT_TRUE(with_location);
  ASSERT_TRUE(with_location->location);
  EXPECT_DOUBLE_EQ(with_location->location->latitude, 48.85);
  EXPECT_EQ(with_location->location->venue, "Le Procope");
  located.location->latitude = 91;
  EXPECT_EQ(rooms_->create(owner_, located).error().code, Errc::validation_failed);
}

TEST_F(ChatroomServiceTest, PublicJoinIsIdempotentAndCountsMembers) {
  auto r = room("lobby");
  auto first = rooms_->join(r.id, member_, {});
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->newly_joined);
  EXPECT_EQ(first->role, Role::member);
  EXPECT_EQ(first->room.member_count, 2);
  auto again = rooms_->join(r.id, member_, {});
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->newly_joined);
  EXPECT_EQ(again->room.member_count, 2);
  EXPECT_EQ(rooms_->join(r.id + 1000, member_, {}).error().code, Errc::not_found);
  EXPECT_TRUE(rooms_->can_join_channel(r.id, member_));
  EXPECT_FALSE(rooms_->can_join_channel(r.id, outsider_));
}

TEST_F(ChatroomServiceTest, PrivateRoomPasswordIsCheckedAndThrottled) {
  auto r = room("secret", true, "open sesame");
  EXPECT_EQ(rooms_->join(r.id, member_, {}).error().code, Errc::forbidden);
  EXPECT_EQ(rooms_->join(r.id, member_, {std::string("wrong"), std::nullopt}).error().code,
            Errc::forbidden);
  EXPECT_TRUE(rooms_->join(r.id, member_, {std::string("open sesame"), std::nullopt}));

  // Ten wrong guesses, then even the right password waits until the window slides.
  for (int i = 0; i < 9; ++i) {
    EXPECT_EQ(rooms_->join(r.id, outsider_, {std::string("guess"), std::nullopt}).error().code,
              Errc::forbidden);
  }
  EXPECT_EQ(rooms_->join(r.id, outsider_, {std::string("guess"), std::nullopt}).error().code,
            Errc::forbidden);
  auto throttled = rooms_->join(r.id, outsider_, {std::string("open sesame"), std::nullopt});
  ASSERT_FALSE(throttled);
  EXPECT_EQ(throttled.error().code, Errc::rate_limited);
  EXPECT_GT(throttled.error().retry_after.count(), 0);
  // Another user is not locked out by those failures.
  EXPECT_TRUE(rooms_->join(r.id, admin_, {std::string("open sesame"), std::nullopt}));
  clock_.advance(16min);
  EXPECT_TRUE(rooms_->join(r.id, outsider_, {std::string("open sesame"), std::nullopt}));
}

TEST_F(ChatroomServiceTest, InvitationsExpireAreRevokedAndGetUsedUp) {
  auto r = room("invite-only", true);
  EXPECT_EQ(rooms_->join(r.id, member_, {std::string("any"), std::nullopt}).error().code,
            Errc::forbidden);
  auto once = rooms_->create_invite(r.id, owner_, {std::nullopt, 1});
  ASSERT_TRUE(once);
  EXPECT_EQ(once->expires_at, clock_.now_ms() + 7 * 24 * 3600 * 1000LL);
  EXPECT_TRUE(rooms_->join(r.id, member_, {std::nullopt, once->code}));
  auto used_up = rooms_->join(r.id, outsider_, {std::nullopt, once->code});
  ASSERT_FALSE(used_up);
  EXPECT_EQ(used_up.error().code, Errc::forbidden);

  auto short_lived = rooms_->create_invite(r.id, owner_, {std::chrono::seconds(60), std::nullopt});
  ASSERT_TRUE(short_lived);
  clock_.advance(61s);
  EXPECT_EQ(rooms_->join(r.id, outsider_, {std::nullopt, short_lived->code}).error().code,
            Errc::forbidden);

  auto revoked = rooms_->create_invite(r.id, owner_, {});
  ASSERT_TRUE(revoked);
  ASSERT_TRUE(rooms_->revoke_invite(r.id, owner_, revoked->code));
  EXPECT_TRUE(rooms_->revoke_invite(r.id, owner_, revoked->code)) << "idempotent";
  EXPECT_EQ(rooms_->revoke_invite(r.id, owner_, "no-such-code").error().code, Errc::not_found);
  EXPECT_EQ(rooms_->join(r.id, outsider_, {std::nullopt, revoked->code}).error().code,
            Errc::forbidden);

  // Only usable invitations are listed; a code is bound to its room.
  auto good = rooms_->create_invite(r.id, owner_, {});
  ASSERT_TRUE(good);
  auto listed = rooms_->invites(r.id, owner_);
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].code, good->code);
  auto other = room("other", true);
  EXPECT_EQ(rooms_->join(other.id, outsider_, {std::nullopt, good->code}).error().code,
            Errc::forbidden);
  // Members cannot make or see invitations; bad options are refused.
  EXPECT_EQ(rooms_->create_invite(r.id, member_, {}).error().code, Errc::forbidden);
  EXPECT_EQ(rooms_->invites(r.id, member_).error().code, Errc::forbidden);
  EXPECT_EQ(
      rooms_->create_invite(r.id, owner_, {std::chrono::seconds(10), std::nullopt}).error().code,
      Errc::validation_failed);
  EXPECT_EQ(rooms_->create_invite(r.id, owner_, {std::nullopt, 0}).error().code,
            Errc::validation_failed);
  EXPECT_TRUE(rooms_->join(r.id, outsider_, {std::nullopt, good->code}));
}

TEST_F(ChatroomServiceTest, BansKeepUsersOutUntilLifted) {
  auto r = staffed_room();
  ASSERT_TRUE(say(r.id, member_, "hello"));
  ASSERT_TRUE(rooms_->ban(r.id, admin_, member_));
  EXPECT_TRUE(rooms_->ban(r.id, admin_, member_)) << "idempotent";
  EXPECT_EQ(rooms_->join(r.id, member_, {}).error().code, Errc::forbidden);
  EXPECT_EQ(rooms_->messages(r.id, member_, std::nullopt, 10).error().code, Errc::forbidden);
  EXPECT_EQ(say(r.id, member_, "let me back").error().code, Errc::forbidden);
  EXPECT_EQ(rooms_->details(r.id, member_).error().code, Errc::forbidden);
  EXPECT_FALSE(rooms_->can_join_channel(r.id, member_));
  EXPECT_EQ(rooms_->find(r.id)->member_count, 2);
  // A ban before joining also counts.
  ASSERT_TRUE(rooms_->ban(r.id, owner_, outsider_));
  EXPECT_EQ(rooms_->join(r.id, outsider_, {}).error().code, Errc::forbidden);
  auto details = rooms_->details(r.id, owner_);
  ASSERT_TRUE(details);
  EXPECT_EQ(details->members.size(), 2u);
  EXPECT_EQ(details->banned.size(), 2u);

  EXPECT_EQ(rooms_->unban(r.id, owner_, admin_).error().code, Errc::not_found);
  ASSERT_TRUE(rooms_->unban(r.id, admin_, member_));
  EXPECT_FALSE(rooms_->can_join_channel(r.id, member_)) << "unbanned is not a member again";
  EXPECT_TRUE(rooms_->join(r.id, member_, {}));
  EXPECT_EQ(observer_.events(), std::vector<std::string>{"removed " + std::to_string(r.id) + " " +
                                                         std::to_string(member_) + " banned"});
}

TEST_F(ChatroomServiceTest, RolesLimitWhoCanActOnWhom) {
  auto r = staffed_room();
  const auto second_admin = user("ada");
  ASSERT_TRUE(rooms_->join(r.id, second_admin, {}));
  ASSERT_TRUE(rooms_->promote(r.id, owner_, second_admin));

  // Members manage nothing; admins cannot touch the owner or other admins.
  EXPECT_EQ(rooms_->kick(r.id, member_, admin_).error().code, Errc::forbidden);
  EXPECT_EQ(rooms_->kick(r.id, admin_, owner_).error().code, Errc::forbidden);
  EXPECT_EQ(rooms_->kick(r.id, admin_, second_admin).error().code, Errc::forbidden);
  EXPECT_EQ(rooms_->ban(r.id, admin_, owner_).error().code, Errc::forbidden);
  EXPECT_EQ(rooms_->ban(r.id, admin_, second_admin).error().code, Errc::forbidden);
  EXPECT_EQ(rooms_->ban(r.id, owner_, 999'999).error().code, Errc::not_found);
  // Nobody acts on themselves.
  EXPECT_EQ(rooms_->kick(r.id, admin_, admin_).error().code, Errc::validation_failed);
  EXPECT_EQ(rooms_->ban(r.id, owner_, owner_).error().code, Errc::validation_failed);
  EXPECT_EQ(rooms_->demote(r.id, owner_, owner_).error().code, Errc::validation_failed);
  // Promotion and demotion are the owner's.
  EXPECT_EQ(rooms_->promote(r.id, admin_, member_).error().code, Errc::forbidden);
  EXPECT_EQ(rooms_->demote(r.id, admin_, second_admin).error().code, Errc::forbidden);
  EXPECT_EQ(rooms_->promote(r.id, owner_, outsider_).error().code, Errc::not_found);
  auto demoted = rooms_->demote(r.id, owner_, second_admin);
  ASSERT_TRUE(demoted);
  EXPECT_EQ(demoted->role, Role::member);
  EXPECT_EQ(rooms_->demote(r.id, owner_, second_admin)->role, Role::member) << "idempotent";

  // Admins kick members; the owner kicks admins. Kicked users may come back.
  ASSERT_TRUE(rooms_->kick(r.id, admin_, member_));
  EXPECT_EQ(rooms_->kick(r.id, admin_, member_).error().code, Errc::not_found);
  EXPECT_EQ(rooms_->membership(r.id, member_).error().code, Errc::not_found);
  EXPECT_TRUE(rooms_->join(r.id, member_, {}));
  ASSERT_TRUE(rooms_->kick(r.id, owner_, admin_));

  // Renaming is for owner and admins.
  EXPECT_EQ(rooms_->rename(r.id, member_, "mine").error().code, Errc::forbidden);
  auto renamed = rooms_->rename(r.id, owner_, " New name ");
  ASSERT_TRUE(renamed);
  EXPECT_EQ(renamed->name, "New name");
  EXPECT_EQ(rooms_->rename(r.id, owner_, " ").error().code, Errc::validation_failed);

  const auto id = std::to_string(r.id);
  EXPECT_EQ(observer_.events(),
            (std::vector<std::string>{"removed " + id + " " + std::to_string(member_) + " kicked",
                                      "removed " + id + " " + std::to_string(admin_) + " kicked",
                                      "updated " + id + " New name"}));
}

TEST_F(ChatroomServiceTest, OwnershipTransferLeaveAndDelete) {
  auto r = staffed_room();
  EXPECT_EQ(rooms_->leave(r.id, owner_).error().code, Errc::conflict);
  EXPECT_EQ(rooms_->transfer_ownership(r.id, admin_, member_).error().code, Errc::forbidden);
  EXPECT_EQ(rooms_->transfer_ownership(r.id, owner_, outsider_).error().code, Errc::not_found);
  EXPECT_EQ(rooms_->transfer_ownership(r.id, owner_, owner_).error().code, Errc::validation_failed);
  ASSERT_TRUE(rooms_->transfer_ownership(r.id, owner_, member_));
  EXPECT_EQ(rooms_->membership(r.id, member_)->role, Role::owner);
  EXPECT_EQ(rooms_->membership(r.id, owner_)->role, Role::admin);

  auto left = rooms_->leave(r.id, owner_);
  ASSERT_TRUE(left);
  EXPECT_FALSE(left->room_deleted);
  EXPECT_EQ(rooms_->leave(r.id, owner_).error().code, Errc::not_found);
  EXPECT_EQ(rooms_->remove(r.id, admin_).error().code, Errc::forbidden);
  ASSERT_TRUE(rooms_->leave(r.id, admin_));
  // The owner is now the last member: leaving deletes the room.
  auto last = rooms_->leave(r.id, member_);
  ASSERT_TRUE(last);
  EXPECT_TRUE(last->room_deleted);
  EXPECT_EQ(rooms_->find(r.id).error().code, Errc::not_found);

  auto doomed = room("doomed");
  ASSERT_TRUE(say(doomed.id, owner_, "bye"));
  ASSERT_TRUE(rooms_->remove(doomed.id, owner_));
  EXPECT_EQ(rooms_->find(doomed.id).error().code, Errc::not_found);
  EXPECT_EQ(rooms_->messages(doomed.id, owner_, std::nullopt, 10).error().code, Errc::not_found);

  const auto id = std::to_string(r.id);
  EXPECT_EQ(observer_.events(),
            (std::vector<std::string>{"removed " + id + " " + std::to_string(owner_) + " left",
                                      "removed " + id + " " + std::to_string(admin_) + " left",
                                      "deleted " + id, "deleted " + std::to_string(doomed.id)}));
}

TEST_F(ChatroomServiceTest, MessagesGetSequencesAndRetriesAreIdempotent) {
  auto r = staffed_room();
  auto first = say(r.id, member_, "one", std::string("c-1"));
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->seq, 1);
  ASSERT_TRUE(first->sender);
  EXPECT_EQ(first->sender->username, "mia");
  EXPECT_EQ(first->language, "en");
  EXPECT_EQ(first->client_id, "c-1");
  auto retry = say(r.id, member_, "one (edited?)", std::string("c-1"));
  ASSERT_TRUE(retry);
  EXPECT_EQ(retry->id, first->id);
  EXPECT_EQ(retry->text, "one") << "a retry answers with what was stored";
  // The same client id from another sender is another message.
  auto other = say(r.id, admin_, "two", std::string("c-1"));
  ASSERT_TRUE(other);
  EXPECT_EQ(other->seq, 2) << "a retry does not use up a sequence number";
  EXPECT_EQ(rooms_->find(r.id)->last_message_seq, 2);
  auto multi = say(r.id, owner_, "line one\nline\ttwo");
  ASSERT_TRUE(multi);
  EXPECT_EQ(multi->seq, 3);
  EXPECT_FALSE(multi->client_id);

  const std::string too_long(kMaxMessageBytes + 1, 'x');
  for (const std::string& bad : std::vector<std::string>{"", " \n ", too_long, "bad\xC3", "bell\a",
                                                         "cr\r", std::string("nul\0x", 5)}) {
    EXPECT_EQ(say(r.id, member_, bad).error().code, Errc::validation_failed) << bad.size();
  }
  EXPECT_TRUE(say(r.id, member_, std::string(kMaxMessageBytes, 'x')));
  EXPECT_EQ(
      rooms_->post_message(r.id, member_, "hi", MessageKind::text, std::string("e n"), std::nullopt)
          .error()
          .code,
      Errc::validation_failed);
  EXPECT_EQ(say(r.id, member_, "hi", std::string(65, 'c')).error().code, Errc::validation_failed);
  EXPECT_EQ(say(r.id, outsider_, "hi").error().code, Errc::forbidden);
  EXPECT_EQ(say(r.id + 1000, member_, "hi").error().code, Errc::not_found);

  // A deleted user's messages stay, without a sender.
  ASSERT_TRUE(users_->remove(member_));
  auto page = rooms_->messages(r.id, owner_, std::nullopt, 100);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->messages.size(), 4u);
  EXPECT_EQ(page->messages.back().id, first->id);
  EXPECT_FALSE(page->messages.back().sender);
}

TEST_F(ChatroomServiceTest, PagingIsNewestFirstWithoutGapsOrDuplicates) {
  auto r = staffed_room();
  for (int i = 1; i <= 120; ++i) {
    ASSERT_TRUE(say(r.id, i % 2 == 0 ? member_ : owner_, "message " + std::to_string(i)));
  }
  std::vector<std::int64_t> seen;
  std::optional<std::int64_t> before;
  int pages = 0;
  do {
    auto page = rooms_->messages(r.id, member_, before, 50);
    ASSERT_TRUE(page);
    ++pages;
    for (const auto& m : page->messages) seen.push_back(m.seq);
    before = page->next_before;
    if (before) {
      EXPECT_EQ(*before, page->messages.back().seq);
    }
  } while (before && pages < 10);
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(seen.size(), 120u);
  for (std::size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i], static_cast<std::int64_t>(120 - i));
  }
  // Limits are clamped; an exact last page says there is nothing more.
  EXPECT_EQ(rooms_->messages(r.id, member_, std::nullopt, 1000)->messages.size(), kMaxPageSize);
  auto exact = rooms_->messages(r.id, member_, 21, 20);
  ASSERT_TRUE(exact);
  EXPECT_EQ(exact->messages.size(), 20u);
  EXPECT_FALSE(exact->next_before);
  EXPECT_EQ(rooms_->messages(r.id, outsider_, std::nullopt, 10).error().code, Errc::forbidden);

  auto recovered = rooms_->messages_after(r.id, 115, 100);
  ASSERT_TRUE(recovered);
  ASSERT_EQ(recovered->size(), 5u);
  EXPECT_EQ(recovered->front().seq, 116);
  EXPECT_EQ(recovered->back().seq, 120);
  EXPECT_EQ(recovered->back().text, "message 120");
}

TEST_F(ChatroomServiceTest, SearchFindsPublicRoomsAndTreatsWildcardsLiterally) {
  room("100% Real");
  room("a_b club");
  room("axb club");
  room("It's \"quoted\"");
  room("Back\\slash");
  room("Hidden 100%", true);
  const auto names = [this](std::string_view q) {
    std::set<std::string> out;
    auto found = rooms_->search_public(q, 100, 0);
    EXPECT_TRUE(found) << found.error().message;
    if (found) {
      for (const auto& r : found->rooms) out.insert(r.name);
    }
    return out;
  };
  EXPECT_EQ(names("%"), std::set<std::string>{"100% Real"});
  EXPECT_EQ(names("_"), std::set<std::string>{"a_b club"});
  EXPECT_EQ(names("REAL"), std::set<std::string>{"100% Real"});
  EXPECT_EQ(names("'"), std::set<std::string>{"It's \"quoted\""});
  EXPECT_EQ(names("\\"), std::set<std::string>{"Back\\slash"});
  EXPECT_EQ(names("' OR '1'='1"), std::set<std::string>{});
  EXPECT_EQ(names("x'); DROP TABLE chatrooms; --"), std::set<std::string>{});
  EXPECT_EQ(names("").size(), 5u);

  auto first = rooms_->search_public("", 2, 0);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->rooms.size(), 2u);
  EXPECT_TRUE(first->has_more);
  auto last = rooms_->search_public("", 2, 4);
  ASSERT_TRUE(last);
  EXPECT_EQ(last->rooms.size(), 1u);
  EXPECT_FALSE(last->has_more);
}

TEST_F(ChatroomServiceTest, DetailsShowMembersToTheRightPeople) {
  auto open = staffed_room();
  auto as_outsider = rooms_->details(open.id, outsider_);
  ASSERT_TRUE(as_outsider) << "public rooms are visible to anyone signed in";
  EXPECT_FALSE(as_outsider->viewer);
  EXPECT_EQ(as_outsider->members.size(), 3u);
  EXPECT_EQ(as_outsider->members[0].role, Role::owner);
  auto closed = room("closed", true);
  EXPECT_EQ(rooms_->details(closed.id, outsider_).error().code, Errc::forbidden);
  EXPECT_EQ(rooms_->details(closed.id + 1000, outsider_).error().code, Errc::not_found);
  auto members = rooms_->members(open.id);
  ASSERT_TRUE(members);
  EXPECT_EQ(members->size(), 3u);
}

TEST_F(ChatroomServiceTest, PhotoChangesReturnTheReplacedFile) {
  auto r = staffed_room();
  EXPECT_EQ(rooms_->check_can_manage(r.id, member_).error().code, Errc::forbidden);
  EXPECT_TRUE(rooms_->check_can_manage(r.id, admin_));
  auto first = rooms_->set_photo(r.id, admin_, "a.png");
  ASSERT_TRUE(first);
  EXPECT_FALSE(first->previous);
  EXPECT_EQ(first->room.photo_path, "a.png");
  auto second = rooms_->set_photo(r.id, owner_, "b.png");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->previous, "a.png");
  EXPECT_EQ(rooms_->remove(r.id, owner_).value(), "b.png");
}

}  // namespace
}  // namespace parley::chat

namespace parley::chat {
namespace {

TEST_F(ChatroomServiceTest, ListeningLanguagesPerRoomFallBackToThePreference) {
  auto r = staffed_room();
  ASSERT_TRUE(users_->set_preferred_language(member_, "es"));
  ASSERT_TRUE(users_->set_preferred_language(admin_, "ca-ES"));
  EXPECT_EQ(*rooms_->listening_language(r.id, owner_), "en");
  EXPECT_EQ(*rooms_->listening_language(r.id, member_), "es");
  EXPECT_EQ(*rooms_->listening_languages(r.id), (std::vector<std::string>{"ca-ES", "en", "es"}));

  // A choice for this room wins over the preference, and null goes back to it.
  EXPECT_EQ(*rooms_->set_listening_language(r.id, member_, std::string("it")), "it");
  EXPECT_EQ(*rooms_->listening_language(r.id, member_), "it");
  auto other = room("other");
  ASSERT_TRUE(rooms_->join(other.id, member_, {}));
  EXPECT_EQ(*rooms_->listening_language(other.id, member_), "es") << "per room only";
  EXPECT_EQ(*rooms_->set_listening_language(r.id, member_, std::nullopt), "es");

  EXPECT_EQ(rooms_->set_listening_language(r.id, member_, std::string("not a tag!")).error().code,
            Errc::validation_failed);
  EXPECT_EQ(rooms_->set_listening_language(r.id, outsider_, std::string("fr")).error().code,
            Errc::forbidden);
  EXPECT_EQ(rooms_->listening_language(r.id, outsider_).error().code, Errc::forbidden);
  // Banned members neither listen nor count.
  ASSERT_TRUE(rooms_->ban(r.id, owner_, admin_));
  EXPECT_EQ(*rooms_->listening_languages(r.id), (std::vector<std::string>{"en", "es"}));
  EXPECT_TRUE(rooms_->listening_languages(987654)->empty());

  // Read once per change: each change below is seen by the next read, not by a stale copy.
  ASSERT_TRUE(users_->set_preferred_language(owner_, "pt"));
  EXPECT_EQ(*rooms_->listening_languages(r.id), (std::vector<std::string>{"es", "pt"}));
  ASSERT_TRUE(rooms_->join(r.id, outsider_, {}));
  EXPECT_EQ(*rooms_->listening_languages(r.id), (std::vector<std::string>{"en", "es", "pt"}));
  EXPECT_EQ(*rooms_->set_listening_language(r.id, outsider_, std::string("ja")), "ja");
  EXPECT_EQ(*rooms_->listening_languages(r.id), (std::vector<std::string>{"es", "ja", "pt"}));
  ASSERT_TRUE(rooms_->leave(r.id, outsider_));
  ASSERT_TRUE(rooms_->unban(r.id, owner_, admin_));  // lifts the ban: they may join again
  ASSERT_TRUE(rooms_->join(r.id, admin_, {}));
  EXPECT_EQ(*rooms_->listening_languages(r.id), (std::vector<std::string>{"ca-ES", "es", "pt"}));
}

TEST_F(ChatroomServiceTest, OneMessageIsReadableByCurrentMembersOnly) {
  auto r = staffed_room();
  auto said = say(r.id, member_, "hello");
  ASSERT_TRUE(said);
  auto seen = rooms_->message(said->id, admin_);
  ASSERT_TRUE(seen) << seen.error().message;
  EXPECT_EQ(seen->text, "hello");
  EXPECT_EQ(rooms_->message(said->id, outsider_).error().code, Errc::not_found);
  EXPECT_EQ(rooms_->message(987654, admin_).error().code, Errc::not_found);
  EXPECT_EQ(rooms_->find_message(said->id)->room_id, r.id);
  ASSERT_TRUE(rooms_->kick(r.id, owner_, admin_));
  EXPECT_EQ(rooms_->message(said->id, admin_).error().code, Errc::not_found);
}

}  // namespace
}  // namespace parley::chat
