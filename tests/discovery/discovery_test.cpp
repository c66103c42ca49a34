// Rooms near a place and search in a room's history, on SQLite and PostgreSQL: every nearby
// query is compared with a brute-force great-circle computation (same rooms, same order), at the
// antimeridian and the poles too, and the query plans must use the indexes.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numbers>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "auth/password_hasher.hpp"
#include "auth/user_store.hpp"
#include "chat/chatroom_service.hpp"
#include "core/clock.hpp"
#include "discovery/geo.hpp"
#include "discovery/history_search.hpp"
#include "discovery/nearby_rooms.hpp"
#include "support/database_test.hpp"
#include "support/test_accounts.hpp"

namespace parley::discovery {
namespace {

using testing::DatabaseKind;

struct Located {
  std::int64_t id;
  double latitude;
  double longitude;
  bool is_private;
};

// The test's own distance, by another formula than the service's haversine: the angle between
// the two unit vectors from atan2(|a x b|, a . b).
double reference_km(double lat1, double lon1, double lat2, double lon2) {
  const double k = std::numbers::pi / 180;
  const double ax = std::cos(lat1 * k) * std::cos(lon1 * k),
               ay = std::cos(lat1 * k) * std::sin(lon1 * k), az = std::sin(lat1 * k);
  const double bx = std::cos(lat2 * k) * std::cos(lon2 * k),
               by = std::cos(lat2 * k) * std::sin(lon2 * k), bz = std::sin(lat2 * k);
  const double cx = ay * bz - az * by, cy = az * bx - ax * bz, cz = ax * by - ay * bx;
  return std::atan2(std::sqrt(cx * cx + cy * cy + cz * cz), ax * bx + ay * by + az * bz) *
         kEarthRadiusKm;
}

class DiscoveryTest : public testing::MigratedDatabaseTest {
 protected:
  void SetUp() override {
    MigratedDatabaseTest::SetUp();
    if (HasFatalFailure()) return;
    users_ = std::make_unique<auth::UserStore>((*db_), clock_);
    rooms_ = std::make_unique<chat::ChatroomService>((*db_), hasher_, clock_);
    nearby_ = std::make_unique<NearbyRooms>((*db_), *rooms_);
    search_ = std::make_unique<HistorySearch>((*db_), *rooms_);
    owner_ = user("olga");
    outsider_ = user("otto");
  }

  std::int64_t user(const std::string& name) { return testing::create_user(*users_, name); }

  // A database of this backend with the migrations before `version` applied.
  static std::unique_ptr<store::Database> migrated_before(const testing::TestDatabase& fresh,
                                                          int version) {
    auto db = store::open_database(fresh.url());
    EXPECT_TRUE(db) << db.error().message;
    if (!db) return nullptr;
    std::vector<store::Migration> earlier;
    for (const auto& m : store::embedded_migrations()) {
      if (m.version < version) earlier.push_back(m);
    }
    EXPECT_TRUE(store::migrate(**db, earlier));
    return std::move(*db);
  }

  // An account in `db` (not the fixture's database), named `name`.
  std::int64_t account_in(store::Database& db, const std::string& name) {
    auth::UserStore users(db, clock_);
    return testing::create_user(users, name);
  }

  // Entries in SQLite's full-text index.
  std::int64_t search_entries() {
    auto lease = (*db_).acquire();
    EXPECT_TRUE(lease);
    auto rows = (*lease)->query("SELECT COUNT(*) FROM message_search");
    EXPECT_TRUE(rows);
    if (!rows || rows->empty()) return -1;
    auto count = (*rows)[0].get<std::int64_t>(std::size_t{0});
    return count ? *count : -1;
  }

  // `count` messages straight into the table, "<text> <n>", room_seq 1 to count.
  void insert_messages(std::int64_t room, int count, const std::string& text) {
    auto lease = (*db_).acquire();
    ASSERT_TRUE(lease);
    auto tx = store::Transaction::begin(**lease);
    ASSERT_TRUE(tx);
    for (int i = 1; i <= count; ++i) {
      ASSERT_TRUE((*lease)->execute(
          "INSERT INTO messages (chatroom_id, room_seq, sender_id, kind, text, original_language, "
          "created_at) VALUES ($1, $2, $3, 'text', $4, 'en', 0)",
          {room, std::int64_t{i}, owner_, text + " " + std::to_string(i)}));
    }
    ASSERT_TRUE(tx->commit());
  }

  // Thousands of rooms in one transaction, straight into the table: the index triggers (SQLite)
  // and the expression index (PostgreSQL) see them as they would any write.
  std::vector<Located> generate_rooms(std::size_t count) {
    std::mt19937_64 random(20261127);
    std::uniform_real_distribution<double> any_latitude(-90, 90), any_longitude(-180, 180),
        unit(0, 1);
    std::vector<Located> rooms;
    auto lease = (*db_).acquire();
    EXPECT_TRUE(lease);
    auto tx = store::Transaction::begin(**lease);
    EXPECT_TRUE(tx);
    for (std::size_t i = 0; i < count; ++i) {
      double latitude = any_latitude(random), longitude = any_longitude(random);
      switch (i % 4) {
        case 1:  // around the antimeridian, on both sides
          latitude = -30 + 60 * unit(random);
          longitude =
              (unit(random) < 0.5 ? 180 : -180) - (unit(random) < 0.5 ? 1 : -1) * 3 * unit(random);
          longitude = std::clamp(longitude, -180.0, 180.0);
          break;
        case 2:  // near a pole
          latitude = (unit(random) < 0.5 ? 1 : -1) * (87 + 3 * unit(random));
          break;
        default:
          break;
      }
      const bool is_private = i % 7 == 0;
      auto inserted = (*lease)->query(
          "INSERT INTO chatrooms (name, is_private, latitude, longitude, created_at, updated_at) "
          "VALUES ($1, $2, $3, $4, 0, 0) RETURNING id",
          {std::string("room ") + std::to_string(i), std::int64_t{is_private ? 1 : 0}, latitude,
           longitude});
      EXPECT_TRUE(inserted) << inserted.error().message;
      rooms.push_back(
          {*(*inserted)[0].get<std::int64_t>(std::size_t{0}), latitude, longitude, is_private});
    }
    EXPECT_TRUE(tx->commit());
    if (GetParam() == DatabaseKind::postgres) {
      EXPECT_TRUE((*lease)->execute("ANALYZE chatrooms"));
    }
    return rooms;
  }

  static std::vector<std::pair<double, std::int64_t>> brute_force(const std::vector<Located>& rooms,
                                                                  double latitude, double longitude,
                                                                  double radius_km) {
    std::vector<std::pair<double, std::int64_t>> expected;
    for (const auto& room : rooms) {
      if (room.is_private) continue;
      const double d = reference_km(latitude, longitude, room.latitude, room.longitude);
      if (d <= radius_km) expected.emplace_back(d, room.id);
    }
    std::sort(expected.begin(), expected.end());
    return expected;
  }

  // Every page of a query, following the cursors.
  std::vector<NearbyRoom> all_pages(NearbyQuery query) {
    std::vector<NearbyRoom> out;
    for (int pages = 0; pages < 1000; ++pages) {
      auto page = nearby_->find(query);
      EXPECT_TRUE(page) << page.error().message;
      if (!page) break;
      out.insert(out.end(), page->rooms.begin(), page->rooms.end());
      if (!page->next_cursor) break;
      query.cursor = page->next_cursor;
    }
    return out;
  }

  std::int64_t located_room(double latitude, double longitude) {
    chat::CreateChatroomInput input;
    input.name = "placed";
    input.location = chat::Location{latitude, longitude, std::nullopt, std::nullopt};
    auto created = rooms_->create(owner_, input);
    EXPECT_TRUE(created) << created.error().message;
    return created ? created->id : 0;
  }

  core::SystemClock clock_;
  auth::PasswordHasher hasher_ = testing::cheap_hasher();
  std::unique_ptr<auth::UserStore> users_;
  std::unique_ptr<chat::ChatroomService> rooms_;
  std::unique_ptr<NearbyRooms> nearby_;
  std::unique_ptr<HistorySearch> search_;
  std::int64_t owner_ = 0;
  std::int64_t outsider_ = 0;
};

INSTANTIATE_TEST_SUITE_P(Backends, DiscoveryTest,
                         ::testing::Values(DatabaseKind::sqlite, DatabaseKind::postgres),
                         testing::backend_name);

TEST_P(DiscoveryTest, EveryNearbyQueryMatchesBruteForceIncludingAntimeridianAndPoles) {
  const auto rooms = generate_rooms(3000);
  struct Point {
    double latitude, longitude;
  };
  std::vector<Point> points = {{0, 180},     {0, -180},    {-17.7, 179.99}, {12, -179.5},
                               {89.99, 0},   {90, 0},      {-90, 0},        {-89.5, 120},
                               {88, -179.9}, {-88, 179.9}, {51.5, -0.12},   {0, 0}};
  std::mt19937_64 random(7);
  std::uniform_real_distribution<double> any_latitude(-90, 90), any_longitude(-180, 180);
  for (int i = 0; i < 12; ++i) points.push_back({any_latitude(random), any_longitude(random)});
  std::size_t compared = 0;
  for (const auto& point : points) {
    for (double radius : {1.0, 80.0, 400.0, 1000.0}) {
      NearbyQuery query{point.latitude, point.longitude, radius, 7, std::nullopt};
      const auto got = all_pages(query);
      const auto expected = brute_force(rooms, point.latitude, point.longitude, radius);
      ASSERT_EQ(got.size(), expected.size())
          << "at " << point.latitude << "," << point.longitude << " within " << radius << " km";
      for (std::size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].room.id, expected[i].second) << "position " << i;
        EXPECT_NEAR(got[i].distance_km, expected[i].first, 1e-6);
        EXPECT_FALSE(got[i].room.is_private);
      }
      compared += got.size();
    }
  }
  EXPECT_GT(compared, 2000u) << "the queries must actually find rooms";
}

TEST_P(DiscoveryTest, TheNearbyQueryUsesTheSpatialIndex) {
  generate_rooms(3000);
  auto plan = nearby_->plan({48.85, 2.35, 25, 20, std::nullopt});
  ASSERT_TRUE(plan) << plan.error().message;
  if (GetParam() == DatabaseKind::sqlite) {
    EXPECT_NE(plan->find("VIRTUAL TABLE INDEX"), std::string::npos) << *plan;  // the R*Tree
    EXPECT_EQ(plan->find("SCAN c"), std::string::npos) << *plan;
  } else {
    EXPECT_NE(plan->find("chatrooms_geo_idx"), std::string::npos) << *plan;
    EXPECT_EQ(plan->find("Seq Scan"), std::string::npos) << *plan;
  }
}

TEST_P(DiscoveryTest, MovingOrRemovingALocationUpdatesTheIndexAndBadInputIsRefused) {
  const auto room = located_room(40.4168, -3.7038);  // Madrid
  auto found = nearby_->find({40.42, -3.70, 5, 10, std::nullopt});
  ASSERT_TRUE(found);
  ASSERT_EQ(found->rooms.size(), 1u);
  EXPECT_EQ(found->rooms[0].room.id, room);

  auto moved = rooms_->set_location(room, owner_, chat::Location{41.3874, 2.1686, 2.0, "Plaça"});
  ASSERT_TRUE(moved) << moved.error().message;
  EXPECT_TRUE(nearby_->find({40.42, -3.70, 5, 10, std::nullopt})->rooms.empty());
  EXPECT_EQ(nearby_->find({41.39, 2.17, 5, 10, std::nullopt})->rooms.size(), 1u);
  EXPECT_EQ(rooms_->set_location(room, outsider_, std::nullopt).error().code, Errc::forbidden);
  EXPECT_EQ(rooms_->set_location(room, owner_, chat::Location{91, 0, {}, {}}).error().code,
            Errc::validation_failed);
  ASSERT_TRUE(rooms_->set_location(room, owner_, std::nullopt));
  EXPECT_TRUE(nearby_->find({41.39, 2.17, 5, 10, std::nullopt})->rooms.empty());

  for (const NearbyQuery& bad :
       {NearbyQuery{91, 0, 5, 10, {}}, NearbyQuery{0, -181, 5, 10, {}},
        NearbyQuery{0, 0, 0, 10, {}}, NearbyQuery{0, 0, 1001, 10, {}},
        NearbyQuery{0, 0, NAN, 10, {}}, NearbyQuery{0, 0, 5, 0, {}}, NearbyQuery{0, 0, 5, 51, {}},
        NearbyQuery{0, 0, 5, 10, std::string("1.5")}, NearbyQuery{0, 0, 5, 10, std::string("x:1")},
        NearbyQuery{0, 0, 5, 10, std::string("1:-2")}}) {
    EXPECT_EQ(nearby_->find(bad).error().code, Errc::validation_failed)
        << bad.latitude << " " << bad.longitude << " " << bad.radius_km << " " << bad.limit;
  }
}

TEST_P(DiscoveryTest, HistorySearchFindsOriginalsAndTranslationsForMembersOnly) {
  chat::CreateChatroomInput input;
  input.name = "talk";
  const auto room = rooms_->create(owner_, input)->id;
  input.name = "elsewhere";
  const auto other = rooms_->create(owner_, input)->id;
  const auto post = [&](std::int64_t in, const std::string& text, const std::string& language) {
    auto posted =
        rooms_->post_message(in, owner_, text, chat::MessageKind::text, language, std::nullopt);
    EXPECT_TRUE(posted) << posted.error().message;
    return posted ? posted->id : 0;
  };
  const auto spanish = post(room, "Buenos días, ¿cómo estás?", "es");
  const auto fox = post(room, "The quick brown fox jumps", "en");
  const auto fox_twice = post(room, "fox fox fox, a fox everywhere", "en");
  post(other, "a fox in another room", "en");
  // A stored translation is searchable too.
  auto lease = (*db_).acquire();
  ASSERT_TRUE(lease);
  ASSERT_TRUE((*lease)->execute(
      "INSERT INTO message_translations (message_id, language, text, source_language, engine, via, "
      "created_at) VALUES ($1, 'en', 'Good morning, how are you?', 'es', 'apertium', '', 0)",
      {spanish}));
  lease->reset();

  auto foxes = search_->search({room, owner_, "fox", 10, 0});
  ASSERT_TRUE(foxes) << foxes.error().message;
  ASSERT_EQ(foxes->hits.size(), 2u) << "the other room's fox stays there";
  EXPECT_EQ(foxes->hits[0].message.id, fox_twice) << "more occurrences rank first";
  EXPECT_EQ(foxes->hits[1].message.id, fox);
  EXPECT_TRUE(foxes->hits[0].in_original);

  auto morning = search_->search({room, owner_, "good MORNING", 10, 0});
  ASSERT_TRUE(morning);
  ASSERT_EQ(morning->hits.size(), 1u);
  EXPECT_EQ(morning->hits[0].message.id, spanish);
  EXPECT_FALSE(morning->hits[0].in_original);
  EXPECT_EQ(morning->hits[0].in_languages, std::vector<std::string>{"en"});
  auto both_words = search_->search({room, owner_, "quick fox", 10, 0});
  ASSERT_EQ(both_words->hits.size(), 1u) << "every word is required";

  // Paging.
  auto first = search_->search({room, owner_, "fox", 1, 0});
  ASSERT_TRUE(first);
  ASSERT_EQ(first->hits.size(), 1u);
  ASSERT_TRUE(first->next_offset);
  auto second = search_->search({room, owner_, "fox", 1, *first->next_offset});
  ASSERT_EQ(second->hits.size(), 1u);
  EXPECT_EQ(second->hits[0].message.id, fox);
  EXPECT_FALSE(second->next_offset);

  // Members only, and no hint that a room exists.
  EXPECT_EQ(search_->search({room, outsider_, "fox", 10, 0}).error().code, Errc::not_found);
  EXPECT_EQ(search_->search({999999, owner_, "fox", 10, 0}).error().code, Errc::not_found);
  EXPECT_EQ(search_->search({room, owner_, " !? ", 10, 0}).error().code, Errc::validation_failed);
  EXPECT_EQ(search_->search({room, owner_, "fox", 0, 0}).error().code, Errc::validation_failed);
}

TEST_P(DiscoveryTest, SearchTextIsNeverQuerySyntax) {
  chat::CreateChatroomInput input;
  input.name = "mine";
  const auto room = rooms_->create(owner_, input)->id;
  input.name = "theirs";
  const auto other = rooms_->create(outsider_, input)->id;
  ASSERT_TRUE(rooms_->post_message(other, outsider_, "secret plans for the heist",
                                   chat::MessageKind::text, std::string("en"), std::nullopt));
  const auto literal =
      rooms_->post_message(room, owner_, "\" OR room:r1 AND body:(x) -- ' ;",
                           chat::MessageKind::text, std::string("en"), std::nullopt);
  ASSERT_TRUE(literal);
  const std::vector<std::string> attacks = {"\" OR room:r" + std::to_string(other) + " OR \"",
                                            "secret OR plans",
                                            "room:r" + std::to_string(other),
                                            "* secret",
                                            "NEAR(secret plans)",
                                            "secret\" OR \"x",
                                            "'; DROP TABLE messages; --",
                                            "plans) OR (heist",
                                            "{body room}: secret",
                                            "secret & plans | heist",
                                            "!secret:*"};
  for (const auto& attack : attacks) {
    auto found = search_->search({room, owner_, attack, 10, 0});
    ASSERT_TRUE(found) << attack << ": " << found.error().message;
    for (const auto& hit : found->hits) {
      EXPECT_EQ(hit.message.room_id, room) << attack << " reached another room";
    }
  }
  auto again = search_->search({room, owner_, "room body", 10, 0});
  ASSERT_TRUE(again);
  ASSERT_EQ(again->hits.size(), 1u) << "the quoted text is found as words";
  EXPECT_EQ(again->hits[0].message.id, literal->id);
  auto lease = (*db_).acquire();
  ASSERT_TRUE(lease);
  EXPECT_TRUE((*lease)->query("SELECT COUNT(*) FROM messages")) << "the table is still there";
}

TEST_P(DiscoveryTest, DeletingARoomTakesItsSearchEntriesAndStaysFast) {
  chat::CreateChatroomInput input;
  input.name = "doomed";
  const auto room = rooms_->create(owner_, input)->id;
  input.name = "kept";
  const auto kept = rooms_->create(owner_, input)->id;
  {
    auto lease = (*db_).acquire();
    ASSERT_TRUE(lease);
    auto tx = store::Transaction::begin(**lease);
    ASSERT_TRUE(tx);
    for (int i = 1; i <= 20000; ++i) {
      ASSERT_TRUE((*lease)->execute(
          "INSERT INTO messages (chatroom_id, room_seq, sender_id, kind, text, original_language, "
          "created_at) VALUES ($1, $2, $3, 'text', 'shared words everywhere', 'en', 0)",
          {room, std::int64_t{i}, owner_}));
    }
    ASSERT_TRUE(tx->commit());
  }
  ASSERT_TRUE(rooms_->post_message(kept, owner_, "shared words here too", chat::MessageKind::text,
                                   std::string("en"), std::nullopt));
  auto indexed = search_->index_all_waiting();
  ASSERT_TRUE(indexed) << indexed.error().message;
  EXPECT_EQ(*indexed, GetParam() == DatabaseKind::sqlite ? 20001u : 0u);
  const auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(rooms_->remove(room, owner_));
  const auto seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_LT(seconds, 20) << "20 000 messages' entries go by rowid range, not by reading the room";
  auto lease = (*db_).acquire();
  ASSERT_TRUE(lease);
  if (GetParam() == DatabaseKind::sqlite) {
    auto left = (*lease)->query("SELECT COUNT(*) FROM message_search");
    ASSERT_TRUE(left);
    EXPECT_EQ((*left)[0].get<std::int64_t>(std::size_t{0}).value(), 1) << "only the kept room's";
  }
  lease->reset();
  auto found = search_->search({kept, owner_, "shared", 10, 0});
  ASSERT_TRUE(found);
  EXPECT_EQ(found->hits.size(), 1u);
}

TEST_P(DiscoveryTest, HistorySearchUsesTheFullTextIndex) {
  chat::CreateChatroomInput input;
  input.name = "busy";
  const auto room = rooms_->create(owner_, input)->id;
  {
    auto lease = (*db_).acquire();
    ASSERT_TRUE(lease);
    auto tx = store::Transaction::begin(**lease);
    ASSERT_TRUE(tx);
    for (int i = 1; i <= 3000; ++i) {
      ASSERT_TRUE((*lease)->execute(
          "INSERT INTO messages (chatroom_id, room_seq, sender_id, kind, text, original_language, "
          "created_at) VALUES ($1, $2, $3, 'text', $4, 'en', 0)",
          {room, std::int64_t{i}, owner_,
           std::string(i == 1500 ? "the rare word zanzibar " : "an ordinary message number ") +
               std::to_string(i)}));
    }
    ASSERT_TRUE(tx->commit());
    if (GetParam() == DatabaseKind::postgres) {
      ASSERT_TRUE((*lease)->execute("ANALYZE messages"));
      ASSERT_TRUE((*lease)->execute("ANALYZE message_translations"));
    }
  }
  auto found = search_->search({room, owner_, "zanzibar", 10, 0});
  ASSERT_TRUE(found) << found.error().message;
  ASSERT_EQ(found->hits.size(), 1u);
  auto plan = search_->plan({room, owner_, "zanzibar", 10, 0});
  ASSERT_TRUE(plan) << plan.error().message;
  if (GetParam() == DatabaseKind::sqlite) {
    EXPECT_NE(plan->find("VIRTUAL TABLE INDEX"), std::string::npos) << *plan;  // FTS5
  } else {
    EXPECT_NE(plan->find("messages_search_idx"), std::string::npos) << *plan;
    EXPECT_EQ(plan->find("Seq Scan on messages"), std::string::npos) << *plan;
  }
}

// SQLite indexes new messages in batches after they are stored (migration 14); a search indexes
// what waits first, so no stored message is ever missed. On PostgreSQL nothing ever waits.
TEST_P(DiscoveryTest, NewMessagesWaitForTheIndexAndASearchIndexesThemFirst) {
  const bool sqlite = GetParam() == DatabaseKind::sqlite;
  chat::CreateChatroomInput input;
  input.name = "fresh";
  const auto room = rooms_->create(owner_, input)->id;
  std::vector<std::int64_t> ids;
  for (const char* text : {"first walrus", "second walrus", "a penguin"}) {
    auto posted = rooms_->post_message(room, owner_, text, chat::MessageKind::text,
                                       std::string("en"), std::nullopt);
    ASSERT_TRUE(posted) << posted.error().message;
    ids.push_back(posted->id);
  }
  if (sqlite) {
    EXPECT_EQ(search_entries(), 0) << "nothing indexed in the message's transaction";
  }

  auto found = search_->search({room, owner_, "walrus", 10, 0});
  ASSERT_TRUE(found) << found.error().message;
  ASSERT_EQ(found->hits.size(), 2u) << "the search indexed what waited before searching";
  if (sqlite) {
    EXPECT_EQ(search_entries(), 3);
  }
  auto again = search_->index_all_waiting();
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(*again, 0u) << "each message is indexed once";

  // A message stored after a search is found by the next one.
  ASSERT_TRUE(rooms_->post_message(room, owner_, "third walrus", chat::MessageKind::text,
                                   std::string("en"), std::nullopt));
  found = search_->search({room, owner_, "walrus", 10, 0});
  ASSERT_TRUE(found);
  EXPECT_EQ(found->hits.size(), 3u);
  if (sqlite) {
    EXPECT_EQ(search_entries(), 4);
  }
}

TEST_P(DiscoveryTest, BatchesIndexInIdOrderAndSkipDeletedMessages) {
  const bool sqlite = GetParam() == DatabaseKind::sqlite;
  chat::CreateChatroomInput input;
  input.name = "many";
  const auto room = rooms_->create(owner_, input)->id;
  insert_messages(room, 600, "batch item");
  {
    auto lease = (*db_).acquire();
    ASSERT_TRUE(lease);
    // Two waiting messages are deleted before any batch reaches them, one of them the newest.
    ASSERT_TRUE((*lease)->execute(
        "DELETE FROM messages WHERE chatroom_id = $1 AND room_seq IN (300, 600)", {room}));
  }
  auto first = search_->index_waiting(kIndexBatch);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(*first, sqlite ? kIndexBatch : 0u);
  if (sqlite) {
    EXPECT_EQ(search_entries(), static_cast<std::int64_t>(kIndexBatch));
  }
  auto rest = search_->index_all_waiting();
  ASSERT_TRUE(rest) << rest.error().message;
  EXPECT_EQ(*rest, sqlite ? 598u - kIndexBatch : 0u);
  if (sqlite) {
    EXPECT_EQ(search_entries(), 598);
  }
  auto found = search_->search({room, owner_, "batch", 50, 0});
  ASSERT_TRUE(found);
  EXPECT_EQ(found->hits.size(), 50u);
  EXPECT_TRUE(found->next_offset);
  auto none = search_->index_waiting(0);
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, 0u);
}

// A chat message stored while the indexer works waits for one chunk, not for the indexer's
// transaction: the indexer commits what it did and steps aside. (One long round here, so that the
// writer surely comes while it runs, however loaded the machine.)
TEST_P(DiscoveryTest, AWriterWaitsForOneChunkOfIndexingNotForTheWholeRound) {
  if (GetParam() != DatabaseKind::sqlite) GTEST_SKIP() << "PostgreSQL indexes as it stores";
  constexpr int kWaiting = 5000;
  chat::CreateChatroomInput input;
  input.name = "busy";
  const auto room = rooms_->create(owner_, input)->id;
  insert_messages(room, kWaiting, "queued");
  // A writer of the indexer's process, as the message batcher is, its connection open already.
  auto writer = (*db_).acquire();
  ASSERT_TRUE(writer);
  ASSERT_TRUE((*writer)->query("SELECT 1"));
  // Another "process" that never waits for the lock: it tells when someone holds it.
  store::DatabaseOptions no_wait;
  no_wait.pool_size = 1;
  no_wait.busy_timeout = std::chrono::milliseconds(0);
  auto prober = store::open_database(database_.url(), no_wait);
  ASSERT_TRUE(prober) << prober.error().message;
  auto probe = (*prober)->acquire();
  ASSERT_TRUE(probe);

  Result<std::size_t> indexed = std::size_t{0};
  std::thread indexer([&] { indexed = search_->index_waiting(kWaiting); });
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  bool lock_taken = false;
  while (!lock_taken && std::chrono::steady_clock::now() < give_up) {
    auto begun = (*probe)->begin();
    if (begun) {
      ASSERT_TRUE((*probe)->rollback());
      std::this_thread::yield();
    } else {
      ASSERT_EQ(begun.error().code, Errc::busy) << begun.error().message;
      lock_taken = true;  // the indexer is in its transaction
    }
  }
  ASSERT_TRUE(lock_taken);
  std::int64_t indexed_before_writer = -1;
  {
    auto tx = store::Transaction::begin(**writer);
    ASSERT_TRUE(tx) << tx.error().message;
    auto rows = (*writer)->query("SELECT COUNT(*) FROM message_search");
    ASSERT_TRUE(rows);
    indexed_before_writer = (*rows)[0].get<std::int64_t>(std::size_t{0}).value();
    ASSERT_TRUE((*writer)->execute(
        "INSERT INTO messages (chatroom_id, room_seq, sender_id, kind, text, original_language, "
        "created_at) VALUES ($1, $2, $3, 'text', 'queued late', 'en', 0)",
        {room, std::int64_t{kWaiting + 1}, owner_}));
    ASSERT_TRUE(tx->commit());
  }
  indexer.join();
  ASSERT_TRUE(indexed) << indexed.error().message;
  EXPECT_LT(*indexed, static_cast<std::size_t>(kWaiting)) << "the round ended early";
  EXPECT_GE(*indexed, kIndexChunk);
  EXPECT_EQ(*indexed % kIndexChunk, 0u) << "in whole chunks";
  EXPECT_EQ(indexed_before_writer, static_cast<std::int64_t>(*indexed))
      << "the writer came right after the round committed";
  auto rest = search_->index_all_waiting();
  ASSERT_TRUE(rest) << rest.error().message;
  EXPECT_EQ(*indexed + *rest, static_cast<std::size_t>(kWaiting) + 1);
  EXPECT_EQ(search_entries(), kWaiting + 1);
}

// An edit before the message was indexed is indexed once, with the new text; an edit after it
// replaces the entry. A translation stored while the original waits is searchable at once and
// keeps its entry when the original is indexed.
TEST_P(DiscoveryTest, EditsAndTranslationsOfWaitingMessagesAreIndexedOnce) {
  const bool sqlite = GetParam() == DatabaseKind::sqlite;
  chat::CreateChatroomInput input;
  input.name = "edits";
  const auto room = rooms_->create(owner_, input)->id;
  const auto post = [&](const std::string& text) {
    auto posted = rooms_->post_message(room, owner_, text, chat::MessageKind::text,
                                       std::string("es"), std::nullopt);
    EXPECT_TRUE(posted) << posted.error().message;
    return posted ? posted->id : 0;
  };
  const auto edited_waiting = post("palabra vieja");
  const auto translated_waiting = post("hola amigos");
  auto lease = (*db_).acquire();
  ASSERT_TRUE(lease);
  ASSERT_TRUE((*lease)->execute("UPDATE messages SET text = 'palabra nueva' WHERE id = $1",
                                {edited_waiting}));
  ASSERT_TRUE((*lease)->execute(
      "INSERT INTO message_translations (message_id, language, text, source_language, engine, via, "
      "created_at) VALUES ($1, 'en', 'hello friends', 'es', 'apertium', '', 0)",
      {translated_waiting}));
  lease->reset();
  if (sqlite) {
    EXPECT_EQ(search_entries(), 1) << "only the translation so far";
  }

  const auto hits = [&](const std::string& text) {
    auto found = search_->search({room, owner_, text, 10, 0});
    EXPECT_TRUE(found) << found.error().message;
    std::vector<std::int64_t> ids;
    if (found) {
      for (const auto& hit : found->hits) ids.push_back(hit.message.id);
    }
    return ids;
  };
  EXPECT_TRUE(hits("vieja").empty());
  EXPECT_EQ(hits("nueva"), std::vector<std::int64_t>{edited_waiting});
  EXPECT_EQ(hits("friends"), std::vector<std::int64_t>{translated_waiting});
  EXPECT_EQ(hits("amigos"), std::vector<std::int64_t>{translated_waiting});
  if (sqlite) {
    EXPECT_EQ(search_entries(), 3);
  }

  lease = (*db_).acquire();
  ASSERT_TRUE(lease);
  ASSERT_TRUE((*lease)->execute("UPDATE messages SET text = 'palabra distinta' WHERE id = $1",
                                {edited_waiting}));
  lease->reset();
  EXPECT_TRUE(hits("nueva").empty()) << "an indexed message's edit replaces its entry";
  EXPECT_EQ(hits("distinta"), std::vector<std::int64_t>{edited_waiting});
  if (sqlite) {
    EXPECT_EQ(search_entries(), 3);
  }
}

// A database migrated to 13 had every message indexed by its trigger: migration 14 starts
// after them, indexing none twice and losing none.
TEST_P(DiscoveryTest, MigrationFourteenStartsAfterWhatWasIndexed) {
  testing::TestDatabase fresh(GetParam());
  auto db = migrated_before(fresh, 14);
  ASSERT_TRUE(db);
  const auto writer = account_in(*db, "early");
  {
    auto lease = db->acquire();
    ASSERT_TRUE(lease);
    ASSERT_TRUE(
        (*lease)->execute("INSERT INTO chatrooms (id, name, is_private, last_message_seq, "
                          "created_at, updated_at) VALUES (1, 'old', 0, 1, 0, 0)"));
    ASSERT_TRUE(
        (*lease)->execute("INSERT INTO memberships (chatroom_id, user_id, role, banned, joined_at) "
                          "VALUES (1, $1, 'owner', 0, 0)",
                          {writer}));
    ASSERT_TRUE((*lease)->execute(
        "INSERT INTO messages (chatroom_id, room_seq, kind, text, original_language, created_at) "
        "VALUES (1, 1, 'text', 'written before fourteen', 'en', 0)"));
  }
  ASSERT_TRUE(store::migrate(*db));
  chat::ChatroomService rooms(*db, hasher_, clock_);
  HistorySearch search(*db, rooms);
  auto waiting = search.index_all_waiting();
  ASSERT_TRUE(waiting) << waiting.error().message;
  EXPECT_EQ(*waiting, 0u) << "the trigger had indexed it";
  auto posted = rooms.post_message(1, writer, "written after fourteen", chat::MessageKind::text,
                                   std::string("en"), std::nullopt);
  ASSERT_TRUE(posted) << posted.error().message;
  auto found = search.search({1, writer, "written", 10, 0});
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_EQ(found->hits.size(), 2u);
  if (GetParam() == DatabaseKind::sqlite) {
    auto lease = db->acquire();
    auto count = (*lease)->query("SELECT COUNT(*) FROM message_search");
    ASSERT_TRUE(count);
    EXPECT_EQ((*count)[0].get<std::int64_t>(std::size_t{0}).value(), 2);
  }
}

// An existing database: rooms, messages and translations written before migration 9 are found
// once it has run (the backfill).
TEST_P(DiscoveryTest, MigrationNineIndexesWhatWasThereBefore) {
  testing::TestDatabase fresh(GetParam());
  auto db = migrated_before(fresh, 9);
  ASSERT_TRUE(db);
  {
    auto lease = db->acquire();
    ASSERT_TRUE(lease);
    ASSERT_TRUE((*lease)->execute(
        "INSERT INTO chatrooms (id, name, is_private, latitude, longitude, created_at, updated_at) "
        "VALUES (1, 'old', 0, 52.52, 13.40, 0, 0)"));
    ASSERT_TRUE((*lease)->execute(
        "INSERT INTO messages (id, chatroom_id, room_seq, kind, text, original_language, "
        "created_at) VALUES (1, 1, 1, 'text', 'Guten Morgen zusammen', 'de', 0)"));
    for (const char* language : {"en", "es"}) {
      ASSERT_TRUE((*lease)->execute(
          "INSERT INTO message_translations (message_id, language, text, source_language, engine, "
          "via, created_at) VALUES (1, $1, $2, 'de', 'x', '', 0)",
          {std::string(language),
           std::string(language == std::string("en") ? "Good morning everyone"
                                                     : "Buenos dias a todos")}));
    }
  }
  ASSERT_TRUE(store::migrate(*db));
  const auto reader = account_in(*db, "reader");
  {
    auto lease = db->acquire();
    ASSERT_TRUE(
        (*lease)->execute("INSERT INTO memberships (chatroom_id, user_id, role, banned, joined_at) "
                          "VALUES (1, $1, 'member', 0, 0)",
                          {reader}));
  }
  chat::ChatroomService rooms(*db, hasher_, clock_);
  NearbyRooms nearby(*db, rooms);
  HistorySearch search(*db, rooms);
  auto near = nearby.find({52.5, 13.4, 10, 10, std::nullopt});
  ASSERT_TRUE(near) << near.error().message;
  ASSERT_EQ(near->rooms.size(), 1u);
  for (const char* word : {"morgen", "morning", "dias"}) {
    auto found = search.search({1, reader, word, 10, 0});
    ASSERT_TRUE(found) << found.error().message;
    EXPECT_EQ(found->hits.size(), 1u) << word;
  }
}

TEST(SearchWords, SplitsOnSpacesAndKeepsOnlyWordsWithContent) {
  EXPECT_EQ(search_words("  hello   wörld !! 42 "),
            (std::vector<std::string>{"hello", "wörld", "42"}));
  EXPECT_TRUE(search_words(" ?! -- ").empty());
  EXPECT_TRUE(search_words("🍕 — « »").empty()) << "symbols and emoji are not words";
  EXPECT_EQ(search_words("pizza 🍕"), std::vector<std::string>{"pizza"});
  EXPECT_EQ(search_words(std::string("a\0b\tc", 5)), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(search_words("你好 мир"), (std::vector<std::string>{"你好", "мир"}));
  EXPECT_EQ(
      search_words(std::string(40, 'a') + std::string(" b").append(std::string(40, ' '))).size(),
      2u);
  std::string many;
  for (int i = 0; i < 30; ++i) many += "w" + std::to_string(i) + " ";
  EXPECT_EQ(search_words(many).size(), 16u);
}

TEST(Geo, DistancesAndBoxes) {
  EXPECT_NEAR(great_circle_km(0, 179.5, 0, -179.5), 111.195, 0.01) << "across the antimeridian";
  EXPECT_NEAR(great_circle_km(90, 0, 90, 123), 0, 1e-9) << "every longitude is the pole";
  EXPECT_NEAR(great_circle_km(0, 0, 0, 180), kEarthRadiusKm * std::numbers::pi, 1e-6);
  const auto box = search_box(0, 180, 100);
  const auto near = unit_vector(0, -179.5);
  EXPECT_LE(box.low.x, near.x);
  EXPECT_GE(box.high.x, near.x);
  EXPECT_LE(box.low.y, near.y);
  EXPECT_GE(box.high.y, near.y);
}

}  // namespace
}  // namespace parley::discovery
