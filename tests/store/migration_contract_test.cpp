// Migrations and the 0001 schema, run against every backend.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "store/migrations/migrator.hpp"
#include "store_test_support.hpp"

namespace parley::store::testing {
namespace {

using namespace std::chrono_literals;

class MigrationContractTest : public StoreTest {
 protected:
  static std::vector<Migration> test_migrations() {
    return {
        {1, "first", "CREATE TABLE alpha (id {{id_pk}}, note TEXT);"},
        {2, "second",
         "CREATE TABLE beta (id {{id_pk}}, data {{blob}}, x {{real}});"
         "CREATE INDEX beta_x_idx ON beta (x);"},
    };
  }

  std::int64_t scalar(std::string_view sql, std::initializer_list<Value> params = {}) {
    auto lease = db().acquire();
    EXPECT_TRUE(lease) << lease.error().message;
    if (!lease) return -1;
    auto rows = (*lease)->query(sql, params);
    EXPECT_TRUE(rows) << rows.error().message;
    if (!rows || rows->empty()) return -1;
    return (*rows)[0].get<std::int64_t>(std::size_t{0}).value();
  }
};

TEST_P(MigrationContractTest, EmbeddedMigrationsAreOrderedAndRender) {
  const auto& migrations = embedded_migrations();
  ASSERT_FALSE(migrations.empty());
  EXPECT_EQ(migrations.front().version, 1);
  EXPECT_EQ(migrations.front().name, "initial");
  for (const auto& migration : migrations) {
    auto rendered = render_migration(migration.sql, dialect());
    PARLEY_ASSERT_OK(rendered);
    EXPECT_EQ(rendered->find("{{"), std::string::npos);
  }
}

TEST_P(MigrationContractTest, MigrateTwiceAppliesNothingTheSecondTime) {
  auto before = current_version(db());
  PARLEY_ASSERT_OK(before);
  EXPECT_EQ(*before, 0);
  auto pending = pending_migrations(db());
  PARLEY_ASSERT_OK(pending);
  EXPECT_EQ(pending->size(), embedded_migrations().size());

  auto first = migrate(db());
  PARLEY_ASSERT_OK(first);
  EXPECT_EQ(first->from_version, 0);
  EXPECT_EQ(first->to_version, embedded_migrations().back().version);
  EXPECT_EQ(first->applied.size(), embedded_migrations().size());

  auto second = migrate(db());
  PARLEY_ASSERT_OK(second);
  EXPECT_TRUE(second->applied.empty());
  EXPECT_EQ(second->from_version, first->to_version);
  EXPECT_EQ(second->to_version, first->to_version);
  auto version = current_version(db());
  PARLEY_ASSERT_OK(version);
  EXPECT_EQ(*version, first->to_version);
  pending = pending_migrations(db());
  PARLEY_ASSERT_OK(pending);
  EXPECT_TRUE(pending->empty());
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM schema_migrations"),
            static_cast<std::int64_t>(embedded_migrations().size()));
}

TEST_P(MigrationContractTest, ChangedAppliedMigrationIsRefused) {
  auto migrations = test_migrations();
  PARLEY_ASSERT_OK(migrate(db(), migrations));
  migrations[0].sql += "\n-- edited after release";
  auto again = migrate(db(), migrations);
  PARLEY_EXPECT_ERRC(again, Errc::conflict);
  EXPECT_NE(again.error().message.find("migration 1 (first) was changed"), std::string::npos)
      << again.error().message;
  PARLEY_EXPECT_ERRC(pending_migrations(db(), migrations), Errc::conflict);
}

TEST_P(MigrationContractTest, DatabaseNewerThanBuildIsRefused) {
  auto migrations = test_migrations();
  PARLEY_ASSERT_OK(migrate(db(), migrations));
  migrations.pop_back();
  PARLEY_EXPECT_ERRC(migrate(db(), migrations), Errc::conflict);
}

TEST_P(MigrationContractTest, NewMigrationIsAppliedIncrementally) {
  auto migrations = test_migrations();
  std::vector<Migration> first_only(migrations.begin(), migrations.begin() + 1);
  auto first = migrate(db(), first_only);
  PARLEY_ASSERT_OK(first);
  EXPECT_EQ(first->applied, std::vector<int>{1});
  auto second = migrate(db(), migrations);
  PARLEY_ASSERT_OK(second);
  EXPECT_EQ(second->from_version, 1);
  EXPECT_EQ(second->applied, std::vector<int>{2});
  EXPECT_EQ(second->to_version, 2);
}

TEST_P(MigrationContractTest, FailedMigrationLeavesNoTrace) {
  std::vector<Migration> migrations = test_migrations();
  migrations.push_back({3, "broken",
                        "CREATE TABLE gamma (id {{id_pk}});"
                        "INSERT INTO no_such_table VALUES (1);"});
  auto result = migrate(db(), migrations);
  PARLEY_EXPECT_ERRC(result, Errc::internal);
  EXPECT_NE(result.error().message.find("migration 3 (broken) failed"), std::string::npos);
  auto version = current_version(db());
  PARLEY_ASSERT_OK(version);
  EXPECT_EQ(*version, 2);
  // DDL is transactional on both backends: gamma was rolled back with the failed insert.
  auto lease = db().acquire();
  PARLEY_ASSERT_OK(lease);
  EXPECT_FALSE((*lease)->query("SELECT * FROM gamma"));
  EXPECT_TRUE((*lease)->query("SELECT * FROM beta"));
}

TEST_P(MigrationContractTest, UnknownPlaceholderIsRefused) {
  std::vector<Migration> migrations = {{1, "typo", "CREATE TABLE t (id {{idpk}});"}};
  PARLEY_EXPECT_ERRC(migrate(db(), migrations), Errc::internal);
  PARLEY_EXPECT_ERRC(render_migration("{{blob", dialect()), Errc::internal);
  std::vector<Migration> unordered = {{2, "b", "SELECT 1;"}, {1, "a", "SELECT 1;"}};
  PARLEY_EXPECT_ERRC(migrate(db(), unordered), Errc::internal);
}

TEST_P(MigrationContractTest, DialectSectionsKeepOnlyTheirDatabasesLines) {
  const std::string sql =
      "CREATE TABLE common (id {{id_pk}});\n"
      "-- dialect: sqlite\n"
      "CREATE TABLE only_sqlite (id INTEGER);\n"
      "-- dialect: postgres\n"
      "CREATE TABLE only_postgres (id BIGINT);\n"
      "-- dialect: both\n"
      "CREATE TABLE again_common (id INTEGER);\n";
  std::vector<Migration> migrations = {{1, "sections", sql}};
  PARLEY_ASSERT_OK(migrate(db(), migrations));
  auto lease = db().acquire();
  PARLEY_ASSERT_OK(lease);
  const bool sqlite = dialect() == Dialect::sqlite;
  EXPECT_TRUE((*lease)->query("SELECT * FROM common"));
  EXPECT_TRUE((*lease)->query("SELECT * FROM again_common"));
  EXPECT_EQ(bool((*lease)->query("SELECT * FROM only_sqlite")), sqlite);
  EXPECT_EQ(bool((*lease)->query("SELECT * FROM only_postgres")), !sqlite);
  PARLEY_EXPECT_ERRC(render_migration("-- dialect: oracle\nSELECT 1;", dialect()), Errc::internal);
}

TEST_P(MigrationContractTest, ConcurrentMigratorsApplyEachMigrationOnce) {
  // Two handles, as two server processes starting together would have.
  auto other = open();
  ASSERT_TRUE(other);
  std::vector<std::vector<int>> applied(2);
  std::vector<Error> errors;
  std::mutex errors_mutex;
  std::vector<std::thread> threads;
  Database* handles[] = {&db(), other.get()};
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      auto report = migrate(*handles[t]);
      if (!report) {
        std::lock_guard lock(errors_mutex);
        errors.push_back(report.error());
        return;
      }
      applied[static_cast<std::size_t>(t)] = report->applied;
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& error : errors) ADD_FAILURE() << error.message;
  std::multiset<int> all(applied[0].begin(), applied[0].end());
  all.insert(applied[1].begin(), applied[1].end());
  std::multiset<int> expected;
  for (const auto& migration : embedded_migrations()) expected.insert(migration.version);
  EXPECT_EQ(all, expected);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM schema_migrations"),
            static_cast<std::int64_t>(embedded_migrations().size()));
}

class SchemaTest : public MigrationContractTest {
 protected:
  void SetUp() override {
    MigrationContractTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto migrated = migrate(db());
    PARLEY_ASSERT_OK(migrated);
  }

  std::int64_t add_user(Connection& c, const std::string& username) {
    auto rows = c.query(
        "INSERT INTO users (email, username, password_hash, auth_provider, created_at, "
        "updated_at) VALUES ($1, $2, 'hash', 'password', 1, 1) RETURNING id",
        {username + "@example.com", username});
    EXPECT_TRUE(rows) << rows.error().message;
    return rows ? (*rows)[0].get<std::int64_t>("id").value() : -1;
  }

  /// Two users, ana and bob, and a room ana created: where most schema tests start.
  struct TwoUsersAndARoom {
    std::int64_t ana;
    std::int64_t bob;
    std::int64_t room;
  };
  TwoUsersAndARoom two_users_and_a_room(Connection& c) {
    const auto ana = add_user(c, "ana");
    const auto bob = add_user(c, "bob");
    return {ana, bob, add_room(c, ana)};
  }

  std::int64_t add_room(Connection& c, std::int64_t creator) {
    auto rows = c.query(
        "INSERT INTO chatrooms (name, creator_id, created_at, updated_at) "
        "VALUES ('room', $1, 1, 1) RETURNING id",
        {creator});
    EXPECT_TRUE(rows) << rows.error().message;
    return rows ? (*rows)[0].get<std::int64_t>("id").value() : -1;
  }

  /// Inserts a message with the next room_seq, as the message repository will.
  static Result<std::int64_t> add_message(Connection& c, std::int64_t room, std::int64_t sender,
                                          const std::string& text) {
    auto tx = Transaction::begin(c);
    if (!tx) return tx.error();
    auto seq = c.query(
        "UPDATE chatrooms SET last_message_seq = last_message_seq + 1 WHERE id = $1 "
        "RETURNING last_message_seq",
        {room});
    if (!seq) return seq.error();
    if (seq->empty()) return fail(Errc::not_found, "no such room");
    auto room_seq = (*seq)[0].get<std::int64_t>(std::size_t{0});
    if (!room_seq) return room_seq.error();
    auto inserted = c.execute(
        "INSERT INTO messages (chatroom_id, room_seq, sender_id, kind, text, created_at) "
        "VALUES ($1, $2, $3, 'text', $4, 1)",
        {room, *room_seq, sender, text});
    if (!inserted) return inserted.error();
    if (auto done = tx->commit(); !done) return done.error();
    return *room_seq;
  }
};

TEST_P(SchemaTest, UserConstraints) {
  auto lease = db().acquire();
  PARLEY_ASSERT_OK(lease);
  Connection& c = **lease;
  add_user(c, "ana");
  // Same email, same username.
  PARLEY_EXPECT_ERRC(c.execute("INSERT INTO users (email, username, password_hash, "
                               "auth_provider, created_at, updated_at) VALUES "
                               "('ana@example.com', 'other', 'h', 'password', 1, 1)"),
                     Errc::conflict);
  PARLEY_EXPECT_ERRC(c.execute("INSERT INTO users (username, password_hash, auth_provider, "
                               "created_at, updated_at) VALUES ('ana', 'h', 'password', 1, 1)"),
                     Errc::conflict);
  // Guests: no email (NULLs do not collide), is_guest must match the provider.
  PARLEY_EXPECT_OK(
      c.execute("INSERT INTO users (username, auth_provider, is_guest, created_at, "
                "updated_at) VALUES ('guest1', 'guest', 1, 1, 1)"));
  PARLEY_EXPECT_OK(
      c.execute("INSERT INTO users (username, auth_provider, is_guest, created_at, "
                "updated_at) VALUES ('guest2', 'guest', 1, 1, 1)"));
  PARLEY_EXPECT_ERRC(c.execute("INSERT INTO users (username, auth_provider, is_guest, "
                               "created_at, updated_at) VALUES ('guest3', 'guest', 0, 1, 1)"),
                     Errc::validation_failed);
  PARLEY_EXPECT_ERRC(c.execute("INSERT INTO users (username, auth_provider, created_at, "
                               "updated_at) VALUES ('nopass', 'password', 1, 1)"),
                     Errc::validation_failed);
  PARLEY_EXPECT_ERRC(c.execute("INSERT INTO users (username, auth_provider, created_at, "
                               "updated_at) VALUES ('x', 'facebook', 1, 1)"),
                     Errc::validation_failed);
  // One account per Google subject.
  PARLEY_EXPECT_OK(
      c.execute("INSERT INTO users (username, auth_provider, provider_subject, "
                "created_at, updated_at) VALUES ('g1', 'google', 'sub-1', 1, 1)"));
  PARLEY_EXPECT_ERRC(c.execute("INSERT INTO users (username, auth_provider, provider_subject, "
                               "created_at, updated_at) VALUES ('g2', 'google', 'sub-1', 1, 1)"),
                     Errc::conflict);
  auto defaults = c.query(
      "SELECT preferred_language, plan, tokens_valid_after, is_guest FROM users "
      "WHERE username = 'ana'");
  PARLEY_ASSERT_OK(defaults);
  EXPECT_EQ((*defaults)[0].get<std::string>("preferred_language").value(), "en");
  EXPECT_EQ((*defaults)[0].get<std::string>("plan").value(), "free");
  EXPECT_EQ((*defaults)[0].get<std::int64_t>("tokens_valid_after").value(), 0);
  EXPECT_EQ((*defaults)[0].get<bool>("is_guest").value(), false);
}

TEST_P(SchemaTest, ChatroomLocationChecks) {
  auto lease = db().acquire();
  PARLEY_ASSERT_OK(lease);
  Connection& c = **lease;
  const std::string insert =
      "INSERT INTO chatrooms (name, latitude, longitude, created_at, updated_at) "
      "VALUES ('r', $1, $2, 1, 1)";
  PARLEY_EXPECT_OK(c.execute(insert, {48.85, 2.35}));
  PARLEY_EXPECT_OK(c.execute(insert, {null_value, null_value}));
  PARLEY_EXPECT_ERRC(c.execute(insert, {48.85, null_value}), Errc::validation_failed);
  PARLEY_EXPECT_ERRC(c.execute(insert, {91.0, 0.0}), Errc::validation_failed);
  PARLEY_EXPECT_ERRC(c.execute(insert, {0.0, -180.5}), Errc::validation_failed);
  auto rows = c.query("SELECT latitude, longitude FROM chatrooms WHERE latitude IS NOT NULL");
  PARLEY_ASSERT_OK(rows);
  EXPECT_DOUBLE_EQ((*rows)[0].get<double>("latitude").value(), 48.85);
}

TEST_P(SchemaTest, DeletesCascadeOrKeepMessages) {
  auto lease = db().acquire();
  PARLEY_ASSERT_OK(lease);
  Connection& c = **lease;
  const auto [ana, bob, room] = two_users_and_a_room(c);
  PARLEY_ASSERT_OK(c.execute(
      "INSERT INTO memberships (chatroom_id, user_id, role, joined_at) VALUES ($1, $2, 'owner', 1)",
      {room, ana}));
  PARLEY_ASSERT_OK(c.execute(
      "INSERT INTO memberships (chatroom_id, user_id, joined_at) VALUES ($1, $2, 1)", {room, bob}));
  PARLEY_EXPECT_ERRC(c.execute("INSERT INTO memberships (chatroom_id, user_id, joined_at) "
                               "VALUES ($1, $2, 1)",
                               {room, bob}),
                     Errc::conflict);
  PARLEY_EXPECT_ERRC(c.execute("INSERT INTO memberships (chatroom_id, user_id, role, joined_at) "
                               "VALUES ($1, $2, 'king', 1)",
                               {room, ana}),
                     Errc::validation_failed);
  PARLEY_ASSERT_OK(add_message(c, room, bob, "hi"));
  PARLEY_ASSERT_OK(add_message(c, room, ana, "hello"));
  PARLEY_EXPECT_ERRC(c.execute("INSERT INTO messages (chatroom_id, room_seq, kind, text, "
                               "created_at) VALUES ($1, 1, 'text', 'dup', 1)",
                               {room}),
                     Errc::conflict);

  // A deleted user's messages stay, without a sender; the membership goes.
  PARLEY_ASSERT_OK(c.execute("DELETE FROM users WHERE id = $1", {bob}));
  auto rows = c.query("SELECT sender_id, text FROM messages WHERE room_seq = 1");
  PARLEY_ASSERT_OK(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].get<std::optional<std::int64_t>>("sender_id").value(), std::nullopt);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM memberships"), 1);

  // Deleting the room removes its messages, memberships and invites; the creator's deletion
  // only clears creator_id.
  PARLEY_ASSERT_OK(
      c.execute("INSERT INTO chatroom_invites (chatroom_id, code, created_by, "
                "max_uses, created_at) VALUES ($1, 'abc', $2, 1, 1)",
                {room, ana}));
  PARLEY_EXPECT_ERRC(c.execute("UPDATE chatroom_invites SET uses = 2 WHERE code = 'abc'"),
                     Errc::validation_failed);
  PARLEY_ASSERT_OK(c.execute("DELETE FROM users WHERE id = $1", {ana}));
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM chatrooms WHERE creator_id IS NULL"), 1);
  PARLEY_ASSERT_OK(c.execute("DELETE FROM chatrooms WHERE id = $1", {room}));
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM messages"), 0);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM chatroom_invites"), 0);
}

// Migration 15: a room's members version moves with every change that can change the languages
// its members listen in, whoever makes it (a cascade included), and with nothing else.
TEST_P(SchemaTest, MembersVersionMovesWhenListeningLanguagesMayChange) {
  auto lease = db().acquire();
  PARLEY_ASSERT_OK(lease);
  Connection& c = **lease;
  const auto [ana, bob, room] = two_users_and_a_room(c);
  const auto other = add_room(c, ana);
  const auto version = [&](std::int64_t id) {
    return scalar(
        "SELECT COALESCE((SELECT version FROM room_members_versions WHERE chatroom_id = $1), 0)",
        {id});
  };
  EXPECT_EQ(version(room), 0);
  // Each change, and whether it may change what the room's members listen in.
  struct Change {
    const char* what;
    std::string sql;
    std::vector<Value> params;
    bool moves;
  };
  const std::vector<Change> changes{
      {"a member joins",
       "INSERT INTO memberships (chatroom_id, user_id, role, joined_at) "
       "VALUES ($1, $2, 'owner', 1)",
       {room, ana},
       true},
      {"a second member joins",
       "INSERT INTO memberships (chatroom_id, user_id, joined_at) VALUES ($1, $2, 1)",
       {room, bob},
       true},
      {"a member joins another room",
       "INSERT INTO memberships (chatroom_id, user_id, joined_at) VALUES ($1, $2, 1)",
       {other, bob},
       false},
      {"a member picks a language for the room",
       "UPDATE memberships SET language = 'es' WHERE chatroom_id = $1 AND user_id = $2",
       {room, bob},
       true},
      {"a member is banned",
       "UPDATE memberships SET banned = 1 WHERE chatroom_id = $1 AND user_id = $2",
       {room, bob},
       true},
      {"a promotion",
       "UPDATE memberships SET role = 'admin' WHERE chatroom_id = $1 AND user_id = $2",
       {room, ana},
       false},
      {"a member's preferred language",
       "UPDATE users SET preferred_language = 'fr' WHERE id = $1",
       {ana},
       true},
      {"the same preferred language again",
       "UPDATE users SET preferred_language = 'fr' WHERE id = $1",
       {ana},
       false},
      {"a rename", "UPDATE users SET username = 'anna' WHERE id = $1", {ana}, false},
  };
  std::int64_t seen = version(room);
  for (const auto& change : changes) {
    PARLEY_ASSERT_OK(c.execute(change.sql, change.params));
    const auto now = version(room);
    if (change.moves) {
      EXPECT_GT(now, seen) << change.what;
    } else {
      EXPECT_EQ(now, seen) << change.what;
    }
    seen = now;
  }
  PARLEY_ASSERT_OK(add_message(c, room, ana, "hello"));
  EXPECT_EQ(version(room), seen) << "a message";
  const auto other_before = version(other);
  PARLEY_ASSERT_OK(c.execute("DELETE FROM users WHERE id = $1", {bob}));
  EXPECT_GT(version(room), seen) << "a member's account is deleted (cascade)";
  EXPECT_GT(version(other), other_before) << "in each of their rooms";
  PARLEY_ASSERT_OK(c.execute("DELETE FROM memberships WHERE chatroom_id = $1", {other}));
  PARLEY_ASSERT_OK(c.execute("DELETE FROM chatrooms WHERE id = $1", {room}));
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM memberships"), 0) << "a room's deletion cascades";
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM room_members_versions WHERE chatroom_id = $1", {room}), 0)
      << "and leaves no counter behind";
  PARLEY_ASSERT_OK(c.execute("DELETE FROM chatrooms WHERE id = $1", {other}));
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM room_members_versions"), 0);
}

TEST_P(SchemaTest, RoomSeqIsGapFreeUnderConcurrentInserts) {
  std::int64_t room = 0;
  std::int64_t user = 0;
  {
    auto lease = db().acquire();
    PARLEY_ASSERT_OK(lease);
    user = add_user(**lease, "writer");
    room = add_room(**lease, user);
  }
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto lease = db().acquire();
        if (!lease) {
          ++failures;
          continue;
        }
        auto seq = add_message(**lease, room, user, std::to_string(t) + ":" + std::to_string(i));
        if (!seq) {
          ADD_FAILURE() << seq.error().message;
          ++failures;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  auto lease = db().acquire();
  PARLEY_ASSERT_OK(lease);
  auto rows = (*lease)->query(
      "SELECT room_seq FROM messages WHERE chatroom_id = $1 "
      "ORDER BY room_seq",
      {room});
  PARLEY_ASSERT_OK(rows);
  ASSERT_EQ(rows->size(), static_cast<std::size_t>(kThreads * kPerThread));
  for (std::size_t i = 0; i < rows->size(); ++i) {
    EXPECT_EQ((*rows)[i].get<std::int64_t>(std::size_t{0}).value(),
              static_cast<std::int64_t>(i + 1));
  }
  EXPECT_EQ(scalar("SELECT last_message_seq FROM chatrooms WHERE id = $1", {room}),
            kThreads * kPerThread);
}

INSTANTIATE_TEST_SUITE_P(Backends, MigrationContractTest,
                         ::testing::Values(Backend::sqlite, Backend::postgres), backend_name);
INSTANTIATE_TEST_SUITE_P(Backends, SchemaTest,
                         ::testing::Values(Backend::sqlite, Backend::postgres), backend_name);

}  // namespace
}  // namespace parley::store::testing
