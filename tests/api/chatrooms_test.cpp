// Chat rooms through real HTTP against a real server and database, on SQLite and PostgreSQL:
// creating, joining (public, password, invitations), leaving, history paging, public search,
// management (invitations, kick, ban, roles, ownership, rename, deletion) and room photos, with
// their bad inputs and permission failures.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <set>

#include "api_test_support.hpp"
#include "auth/password_hasher.hpp"
#include "chat/chatroom_service.hpp"
#include "core/clock.hpp"
#include "store/database.hpp"
#include "support/database_test.hpp"
#include "support/test_server.hpp"

namespace parley::testing {
namespace {

namespace json = boost::json;

constexpr const char* kPassword = "a long and private passphrase";

std::string from_hex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  }
  return out;
}

// A real 1x1 PNG.
const std::string kPng = from_hex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000a49444154789c63000100"
    "000500010d0a2db40000000049454e44ae426082");

std::string multipart(const std::string& field, const std::string& filename,
                      const std::string& type, const std::string& bytes) {
  return "--XBOUNDARYX\r\nContent-Disposition: form-data; name=\"" + field + "\"; filename=\"" +
         filename + "\"\r\nContent-Type: " + type + "\r\n\r\n" + bytes + "\r\n--XBOUNDARYX--\r\n";
}

class ChatroomsTest : public ::testing::TestWithParam<DatabaseKind> {
 protected:
  ChatroomsTest() : server_(GetParam(), {{"PARLEY_MAX_AVATAR_BYTES", "65536"}}) {}
  std::uint16_t port() const { return server_.port(); }

  Account register_user(const std::string& name) {
    auto reply =
        post_json(port(), "/api/register",
                  {{"email", name + "@example.test"}, {"username", name}, {"password", kPassword}});
    EXPECT_EQ(reply.result_int(), 201) << reply.body();
    return account_of(reply);
  }

  Reply post(const std::string& path, const json::value& body, const Account& who) {
    return post_json(port(), path, body, who.access_token);
  }
  Reply get(const std::string& path, const Account& who) {
    return get_with(port(), path, who.access_token);
  }
  Reply del(const std::string& path, const Account& who) {
    return request(port(), http::verb::delete_, path, "",
                   {{"Authorization", "Bearer " + who.access_token}});
  }

  // Creates a room and returns its id.
  std::int64_t create_room(const Account& owner, json::object body) {
    auto reply = post("/api/create-chatroom", body, owner);
    EXPECT_EQ(reply.result_int(), 201) << reply.body();
    return reply.result_int() == 201 ? json_of(reply).at("chatroom").at("id").as_int64() : 0;
  }

  int join(const Account& who, std::int64_t room, json::object extra = {}) {
    extra["chatroom_id"] = room;
    return post("/api/join-chatroom", extra, who).result_int();
  }

  std::string room_path(std::int64_t room, const std::string& suffix = "") {
    return "/api/chatrooms/" + std::to_string(room) + suffix;
  }

  int act(const Account& actor, std::int64_t room, const std::string& action, std::int64_t target) {
    auto reply = post(room_path(room, "/" + action), {{"user_id", target}}, actor);
    return reply.result_int();
  }

  Reply messages(const Account& who, json::object body) {
    return post("/api/get-chatroom-messages", body, who);
  }

  // Runs SQL against the server's database (to set up states the API cannot reach quickly).
  store::Rows sql(const std::string& statement, std::initializer_list<store::Value> params = {}) {
    auto database = store::open_database(server_.database_url());
    EXPECT_TRUE(database);
    auto lease = (*database)->acquire();
    auto rows = (*lease)->query(statement, params);
    EXPECT_TRUE(rows) << rows.error().message;
    return rows ? *rows : store::Rows{};
  }

  TestServer server_;
};

INSTANTIATE_TEST_SUITE_P(Backends, ChatroomsTest,
                         ::testing::Values(DatabaseKind::sqlite, DatabaseKind::postgres),
                         backend_name);

TEST_P(ChatroomsTest, CreateJoinLeaveWithTheIssueShapes) {
  auto owner = register_user("olga");
  auto guest = register_user("gus");
  auto created =
      post("/api/create-chatroom", {{"name", "  Lobby  "}, {"is_private", false}}, owner);
  ASSERT_EQ(created.result_int(), 201) << created.body();
  auto room = json_of(created).at("chatroom").as_object();
  for (const char* key :
       {"id", "name", "is_private", "creator_id", "member_count", "created_at", "photo_url"}) {
    EXPECT_TRUE(room.contains(key)) << key;
  }
  EXPECT_FALSE(room.contains("location")) << "location only when set";
  EXPECT_FALSE(room.contains("password_hash"));
  EXPECT_EQ(room["name"], "Lobby");
  EXPECT_EQ(room["is_private"], false);
  EXPECT_EQ(room["creator_id"], owner.id);
  EXPECT_EQ(room["member_count"], 1);
  EXPECT_TRUE(room["photo_url"].is_null());
  EXPECT_TRUE(room["created_at"].as_string().ends_with("Z"));
  const auto id = room["id"].as_int64();

  auto located = post("/api/create-chatroom",
                      {{"name", "Cafe"},
                       {"location", {{"latitude", 48.85}, {"longitude", 2}, {"venue", "Procope"}}}},
                      owner);
  ASSERT_EQ(located.result_int(), 201) << located.body();
  auto location = json_of(located).at("chatroom").at("location").as_object();
  EXPECT_EQ(location["latitude"].as_double(), 48.85);
  EXPECT_EQ(location["venue"], "Procope");
  EXPECT_FALSE(location.contains("radius_km"));

  auto joined = post("/api/join-chatroom", {{"chatroom_id", id}}, guest);
  ASSERT_EQ(joined.result_int(), 200) << joined.body();
  EXPECT_EQ(json_of(joined).at("role"), "member");
  EXPECT_EQ(json_of(joined).at("chatroom").at("member_count"), 2);
  auto again = post("/api/join-chatroom", {{"chatroom_id", id}}, guest);
  ASSERT_EQ(again.result_int(), 200) << "joining twice is idempotent";
  EXPECT_EQ(json_of(again).at("chatroom").at("member_count"), 2);

  auto details = get(room_path(id), guest);
  ASSERT_EQ(details.result_int(), 200) << details.body();
  auto body = json_of(details).as_object();
  EXPECT_EQ(body["role"], "member");
  ASSERT_EQ(body["members"].as_array().size(), 2u);
  EXPECT_EQ(body["members"].as_array()[0].at("role"), "owner");
  EXPECT_EQ(body["members"].as_array()[0].at("username"), "olga");
  EXPECT_FALSE(body.contains("banned")) << "ban lists are for the owner and admins";

  // The user's own room list (account routes) sees the membership too.
  auto mine = get("/api/user-chatrooms/" + std::to_string(guest.id), guest);
  ASSERT_EQ(mine.result_int(), 200);
  EXPECT_EQ(json_of(mine).at("chatrooms").as_array().size(), 1u);

  auto owner_leaves = post("/api/leave-chatroom", {{"chatroom_id", id}}, owner);
  EXPECT_EQ(owner_leaves.result_int(), 409) << owner_leaves.body();
  auto left = post("/api/leave-chatroom", {{"chatroom_id", id}}, guest);
  ASSERT_EQ(left.result_int(), 200) << left.body();
  EXPECT_EQ(json_of(left).at("room_deleted"), false);
  EXPECT_EQ(post("/api/leave-chatroom", {{"chatroom_id", id}}, guest).result_int(), 404);
  auto last = post("/api/leave-chatroom", {{"chatroom_id", id}}, owner);
  ASSERT_EQ(last.result_int(), 200) << last.body();
  EXPECT_EQ(json_of(last).at("room_deleted"), true);
  EXPECT_EQ(get(room_path(id), owner).result_int(), 404);
}

TEST_P(ChatroomsTest, BadInputsGetClearErrors) {
  auto owner = register_user("olga");
  const auto id = create_room(owner, {{"name", "Lobby"}});
  using Case = std::tuple<std::string, json::object, int>;
  const std::string long_name(101, 'x');
  const Case cases[] = {
      {"/api/create-chatroom", {{"is_private", true}}, 422},
      {"/api/create-chatroom", {{"name", 42}}, 422},
      {"/api/create-chatroom", {{"name", "   "}}, 422},
      {"/api/create-chatroom", {{"name", long_name}}, 422},
      {"/api/create-chatroom", {{"name", "tab\tname"}}, 422},
      {"/api/create-chatroom", {{"name", "x"}, {"is_private", "yes"}}, 422},
      {"/api/create-chatroom", {{"name", "x"}, {"password", "pw"}}, 422},
      {"/api/create-chatroom",
       {{"name", "x"}, {"location", {{"latitude", 91}, {"longitude", 0}}}},
       422},
      {"/api/create-chatroom", {{"name", "x"}, {"location", "Paris"}}, 422},
      {"/api/join-chatroom", json::object{}, 422},
      {"/api/join-chatroom", {{"chatroom_id", "1"}}, 422},
      {"/api/join-chatroom", {{"chatroom_id", 0}}, 422},
      {"/api/join-chatroom", {{"chatroom_id", 1.5}}, 422},
      {"/api/join-chatroom", {{"chatroom_id", id}, {"password", 7}}, 422},
      {"/api/join-chatroom", {{"chatroom_id", 987654}}, 404},
      {"/api/leave-chatroom", {{"chatroom_id", json::array{}}}, 422},
      {"/api/leave-chatroom", {{"chatroom_id", 987654}}, 404},
      {"/api/get-chatroom-messages", {{"chatroom_id", id}, {"limit", 0}}, 422},
      {"/api/get-chatroom-messages", {{"chatroom_id", id}, {"before", "x"}}, 422},
      {"/api/get-chatroom-messages", {{"chatroom_id", 987654}}, 404},
      {room_path(id, "/kick"), {{"user_id", "me"}}, 422},
      {room_path(id, "/kick"), {{"user_id", owner.id}}, 422},
      {room_path(id, "/ban"), json::object{}, 422},
      {room_path(id, "/rename"), {{"name", ""}}, 422},
      {room_path(id, "/invites"), {{"max_uses", 0}}, 422},
      {room_path(id, "/invites"), {{"expires_in_s", 5}}, 422},
      {room_path(987654, "/rename"), {{"name", "x"}}, 404},
      {"/api/chatrooms/abc/kick", {{"user_id", 1}}, 404},
  };
  for (const auto& [path, body, status] : cases) {
    auto reply = post(path, body, owner);
    EXPECT_EQ(reply.result_int(), status)
        << path << " " << json::serialize(body) << " -> " << reply.body();
    EXPECT_TRUE(error_code_of(reply).find("no error shape") == std::string::npos) << reply.body();
  }
  for (const char* path : {"/api/create-chatroom", "/api/join-chatroom", "/api/leave-chatroom",
                           "/api/get-chatroom-messages"}) {
    auto malformed = request(
        port(), http::verb::post, path, "{\"name\":",
        {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + owner.access_token}});
    EXPECT_EQ(malformed.result_int(), 400) << path;
    EXPECT_EQ(error_code_of(malformed), "invalid_request");
    auto not_json = request(port(), http::verb::post, path, "name=x",
                            {{"Content-Type", "application/x-www-form-urlencoded"},
                             {"Authorization", "Bearer " + owner.access_token}});
    EXPECT_EQ(not_json.result_int(), 415) << path;
    auto anonymous = post_json(port(), path, {{"chatroom_id", id}});
    EXPECT_EQ(anonymous.result_int(), 401) << path;
  }
  EXPECT_EQ(get_with(port(), "/api/chatrooms").result_int(), 401);
  EXPECT_EQ(get("/api/chatrooms?limit=abc", owner).result_int(), 422);
  EXPECT_EQ(get("/api/chatrooms?limit=0", owner).result_int(), 422);
  EXPECT_EQ(get("/api/chatrooms?offset=-1", owner).result_int(), 422);
  EXPECT_EQ(get("/api/chatrooms?q=%ZZ", owner).result_int(), 400);
  EXPECT_EQ(get("/api/chatrooms?q=" + std::string(101, 'x'), owner).result_int(), 422);
  EXPECT_EQ(get(room_path(987654), owner).result_int(), 404);
  EXPECT_EQ(get("/api/chatrooms/-1", owner).result_int(), 404);
}

TEST_P(ChatroomsTest, PrivateRoomsNeedThePasswordOrAValidInvitation) {
  auto owner = register_user("olga");
  auto ann = register_user("ann");
  auto bob = register_user("bob");
  auto cid = register_user("cid");
  const auto locked =
      create_room(owner, {{"name", "Locked"}, {"is_private", true}, {"password", "open sesame"}});
  EXPECT_EQ(join(ann, locked), 403);
  EXPECT_EQ(join(ann, locked, {{"password", "wrong"}}), 403);
  EXPECT_EQ(join(ann, locked, {{"password", "open sesame"}}), 200);
  // The stored password is a bcrypt hash, never the password.
  auto stored = sql("SELECT password_hash FROM chatrooms WHERE id = $1", {locked});
  ASSERT_EQ(stored.size(), 1u);
  const auto hash = stored[0].get<std::string>("password_hash").value();
  EXPECT_TRUE(hash.starts_with(auth::PasswordHasher::kSchemePrefix)) << hash;
  // Non-members cannot see a private room or its history.
  EXPECT_EQ(get(room_path(locked), bob).result_int(), 403);
  EXPECT_EQ(messages(bob, {{"chatroom_id", locked}}).result_int(), 403);

  const auto club = create_room(owner, {{"name", "Club"}, {"is_private", true}});
  EXPECT_EQ(join(ann, club, {{"password", "anything"}}), 403) << "invitation only";
  EXPECT_EQ(post(room_path(club, "/invites"), json::object{}, ann).result_int(), 403)
      << "only members with a role invite";

  auto once = post(room_path(club, "/invites"), {{"max_uses", 1}}, owner);
  ASSERT_EQ(once.result_int(), 201) << once.body();
  auto invite = json_of(once).as_object();
  EXPECT_EQ(invite["max_uses"], 1);
  EXPECT_TRUE(invite["expires_at"].is_string());
  const std::string once_code(invite["code"].as_string());
  EXPECT_EQ(join(ann, club, {{"invite_code", once_code}}), 200);
  EXPECT_EQ(join(bob, club, {{"invite_code", once_code}}), 403) << "used up";

  auto revoked = post(room_path(club, "/invites"), json::object{}, owner);
  ASSERT_EQ(revoked.result_int(), 201);
  const std::string revoked_code(json_of(revoked).at("code").as_string());
  EXPECT_EQ(del(room_path(club, "/invites/" + revoked_code), owner).result_int(), 200);
  EXPECT_EQ(del(room_path(club, "/invites/nope"), owner).result_int(), 404);
  EXPECT_EQ(join(bob, club, {{"invite_code", revoked_code}}), 403) << "revoked";

  auto expiring = post(room_path(club, "/invites"), {{"expires_in_s", 60}}, owner);
  ASSERT_EQ(expiring.result_int(), 201);
  const std::string expiring_code(json_of(expiring).at("code").as_string());
  sql("UPDATE chatroom_invites SET expires_at = 1000 WHERE code = $1 RETURNING code",
      {expiring_code});
  EXPECT_EQ(join(bob, club, {{"invite_code", expiring_code}}), 403) << "expired";

  auto good = post(room_path(club, "/invites"), {{"max_uses", 5}}, owner);
  ASSERT_EQ(good.result_int(), 201);
  const std::string good_code(json_of(good).at("code").as_string());
  auto listed = get(room_path(club, "/invites"), owner);
  ASSERT_EQ(listed.result_int(), 200) << listed.body();
  auto invites = json_of(listed).at("invites").as_array();
  ASSERT_EQ(invites.size(), 1u) << "only usable invitations are listed: " << listed.body();
  EXPECT_EQ(invites[0].at("code").as_string(), good_code);
  EXPECT_EQ(get(room_path(club, "/invites"), ann).result_int(), 403);
  EXPECT_EQ(join(bob, locked, {{"invite_code", good_code}}), 403) << "codes belong to one room";
  EXPECT_EQ(join(bob, club, {{"invite_code", good_code}}), 200);
  EXPECT_EQ(join(cid, club, {{"invite_code", good_code}}), 200);
}

TEST_P(ChatroomsTest, KicksBansRolesOwnershipRenameAndDelete) {
  auto owner = register_user("olga");
  auto admin = register_user("adam");
  auto ada = register_user("ada");
  auto mia = register_user("mia");
  auto otto = register_user("otto");
  const auto id = create_room(owner, {{"name", "Staffed"}});
  for (const auto* who : {&admin, &ada, &mia}) ASSERT_EQ(join(*who, id), 200);

  EXPECT_EQ(act(admin, id, "promote", ada.id), 403) << "promotion is the owner's";
  auto promoted = post(room_path(id, "/promote"), {{"user_id", admin.id}}, owner);
  ASSERT_EQ(promoted.result_int(), 200) << promoted.body();
  EXPECT_EQ(json_of(promoted).at("role"), "admin");
  EXPECT_EQ(json_of(promoted).at("status"), "promoted");
  ASSERT_EQ(act(owner, id, "promote", ada.id), 200);
  EXPECT_EQ(act(owner, id, "promote", otto.id), 404) << "not a member";

  // Admins cannot act on the owner or on other admins; members manage nothing.
  EXPECT_EQ(act(mia, id, "kick", ada.id), 403);
  EXPECT_EQ(act(admin, id, "kick", owner.id), 403);
  EXPECT_EQ(act(admin, id, "kick", ada.id), 403);
  EXPECT_EQ(act(admin, id, "ban", ada.id), 403);
  EXPECT_EQ(act(admin, id, "ban", owner.id), 403);
  EXPECT_EQ(act(admin, id, "kick", admin.id), 422);
  auto demoted = post(room_path(id, "/demote"), {{"user_id", ada.id}}, owner);
  ASSERT_EQ(demoted.result_int(), 200);
  EXPECT_EQ(json_of(demoted).at("role"), "member");
  EXPECT_EQ(act(admin, id, "demote", ada.id), 403);

  // Kicked members may come back; banned users may not, and cannot read.
  ASSERT_EQ(act(admin, id, "kick", ada.id), 200);
  EXPECT_EQ(join(ada, id), 200);
  ASSERT_EQ(act(admin, id, "ban", mia.id), 200);
  EXPECT_EQ(join(mia, id), 403);
  EXPECT_EQ(messages(mia, {{"chatroom_id", id}}).result_int(), 403);
  EXPECT_EQ(get(room_path(id), mia).result_int(), 403);
  ASSERT_EQ(act(owner, id, "ban", otto.id), 200) << "a ban can come before a join";
  EXPECT_EQ(join(otto, id), 403);
  auto details = json_of(get(room_path(id), admin)).as_object();
  EXPECT_EQ(details["members"].as_array().size(), 3u);
  EXPECT_EQ(details["banned"].as_array().size(), 2u);
  EXPECT_EQ(details["chatroom"].at("member_count"), 3);
  EXPECT_EQ(act(admin, id, "unban", ada.id), 404) << "not banned";
  ASSERT_EQ(act(admin, id, "unban", mia.id), 200);
  EXPECT_EQ(join(mia, id), 200);

  // Ownership moves only from the owner to a member; the old owner stays as admin.
  EXPECT_EQ(act(admin, id, "transfer-ownership", ada.id), 403);
  EXPECT_EQ(act(owner, id, "transfer-ownership", otto.id), 404);
  EXPECT_EQ(act(owner, id, "transfer-ownership", owner.id), 422);
  auto transferred = post(room_path(id, "/transfer-ownership"), {{"user_id", ada.id}}, owner);
  ASSERT_EQ(transferred.result_int(), 200) << transferred.body();
  EXPECT_EQ(json_of(transferred).at("role"), "owner");
  EXPECT_EQ(json_of(get(room_path(id), owner)).at("role"), "admin");
  EXPECT_EQ(json_of(get(room_path(id), ada)).at("role"), "owner");
  EXPECT_EQ(post("/api/leave-chatroom", {{"chatroom_id", id}}, owner).result_int(), 200);

  // Rename: owner and admins. Delete: the owner only.
  EXPECT_EQ(post(room_path(id, "/rename"), {{"name", "Mine"}}, mia).result_int(), 403);
  auto renamed = post(room_path(id, "/rename"), {{"name", "  Renamed "}}, admin);
  ASSERT_EQ(renamed.result_int(), 200) << renamed.body();
  EXPECT_EQ(json_of(renamed).at("chatroom").at("name"), "Renamed");
  EXPECT_EQ(del(room_path(id), admin).result_int(), 403);
  EXPECT_EQ(del(room_path(id), otto).result_int(), 403);
  auto deleted = del(room_path(id), ada);
  ASSERT_EQ(deleted.result_int(), 200) << deleted.body();
  EXPECT_EQ(get(room_path(id), ada).result_int(), 404);
  EXPECT_EQ(del(room_path(id), ada).result_int(), 404);
}

TEST_P(ChatroomsTest, HistoryPagesNewestFirstWithoutGapsOrDuplicates) {
  auto owner = register_user("olga");
  auto mia = register_user("mia");
  auto otto = register_user("otto");
  const auto id = create_room(owner, {{"name", "Busy"}});
  ASSERT_EQ(join(mia, id), 200);
  {
    // Messages are stored by the service the real-time layer uses, on the server's database.
    auto database = store::open_database(server_.database_url());
    ASSERT_TRUE(database);
    core::SystemClock clock;
    auth::PasswordHasherOptions options;
    options.cost = 4;
    const auto hasher = auth::PasswordHasher::insecure_for_tests(options);
    chat::ChatroomService rooms(**database, hasher, clock);
    for (int i = 1; i <= 120; ++i) {
      auto stored = rooms.post_message(id, i % 2 == 0 ? mia.id : owner.id,
                                       "message " + std::to_string(i), chat::MessageKind::text,
                                       std::string("en"), "client-" + std::to_string(i));
      ASSERT_TRUE(stored) << stored.error().message;
    }
  }
  std::vector<std::int64_t> seqs;
  std::set<std::int64_t> ids;
  json::value before = nullptr;
  int pages = 0;
  do {
    json::object body{{"chatroom_id", id}, {"limit", 50}};
    if (!before.is_null()) body["before"] = before;
    auto reply = messages(mia, body);
    ASSERT_EQ(reply.result_int(), 200) << reply.body();
    auto page = json_of(reply).as_object();
    for (const auto& m : page["messages"].as_array()) {
      seqs.push_back(m.at("seq").as_int64());
      ids.insert(m.at("id").as_int64());
    }
    before = page["next_before"];
    ++pages;
  } while (!before.is_null() && pages < 10);
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(seqs.size(), 120u);
  EXPECT_EQ(ids.size(), 120u);
  for (std::size_t i = 0; i < seqs.size(); ++i) {
    EXPECT_EQ(seqs[i], static_cast<std::int64_t>(120 - i)) << i;
  }

  auto newest = messages(mia, {{"chatroom_id", id}, {"limit", 1}});
  ASSERT_EQ(newest.result_int(), 200);
  auto message = json_of(newest).at("messages").as_array().at(0).as_object();
  EXPECT_EQ(message["room"], id);
  EXPECT_EQ(message["seq"], 120);
  EXPECT_EQ(message["text"], "message 120");
  EXPECT_EQ(message["kind"], "text");
  EXPECT_EQ(message["language"], "en");
  EXPECT_EQ(message["client_id"], "client-120");
  EXPECT_TRUE(message["created_at"].as_string().ends_with("Z"));
  EXPECT_EQ(message["sender"].at("id"), mia.id);
  EXPECT_EQ(message["sender"].at("username"), "mia");
  EXPECT_TRUE(message["sender"].at("avatar_url").is_null());
  EXPECT_EQ(json_of(newest).at("next_before"), 120);

  auto default_page = messages(mia, {{"chatroom_id", id}});
  EXPECT_EQ(json_of(default_page).at("messages").as_array().size(), 50u);
  auto capped = messages(mia, {{"chatroom_id", id}, {"limit", 500}});
  EXPECT_EQ(json_of(capped).at("messages").as_array().size(), 100u);
  auto oldest = messages(mia, {{"chatroom_id", id}, {"before", 3}});
  EXPECT_EQ(json_of(oldest).at("messages").as_array().size(), 2u);
  EXPECT_TRUE(json_of(oldest).at("next_before").is_null());
  EXPECT_EQ(messages(otto, {{"chatroom_id", id}}).result_int(), 403) << "members only";

  // A deleted user's messages remain, attributed to nobody.
  ASSERT_EQ(post("/api/delete-account", {{"password", kPassword}}, mia).result_int(), 200);
  auto after_delete = messages(owner, {{"chatroom_id", id}, {"limit", 1}});
  EXPECT_TRUE(json_of(after_delete).at("messages").as_array().at(0).at("sender").is_null());
}

TEST_P(ChatroomsTest, SearchListsPublicRoomsAndIsInjectionSafe) {
  auto owner = register_user("olga");
  for (const char* name : {"100% Real", "a_b club", "axb club", "O'Brien's \"pub\"", "Quiet"}) {
    create_room(owner, {{"name", name}});
  }
  create_room(owner, {{"name", "Hidden 100%"}, {"is_private", true}});
  const auto names = [&](const std::string& query) {
    std::set<std::string> out;
    auto reply = get("/api/chatrooms" + query, owner);
    EXPECT_EQ(reply.result_int(), 200) << query << " -> " << reply.body();
    if (reply.result_int() != 200) return out;
    const auto body = json_of(reply);
    for (const auto& room : body.at("chatrooms").as_array()) {
      out.insert(std::string(room.at("name").as_string()));
    }
    return out;
  };
  EXPECT_EQ(names(""), (std::set<std::string>{"100% Real", "a_b club", "axb club",
                                              "O'Brien's \"pub\"", "Quiet"}));
  EXPECT_EQ(names("?q=%25"), std::set<std::string>{"100% Real"});
  EXPECT_EQ(names("?q=_"), std::set<std::string>{"a_b club"});
  EXPECT_EQ(names("?q=a_b"), std::set<std::string>{"a_b club"});
  EXPECT_EQ(names("?q=CLUB"), (std::set<std::string>{"a_b club", "axb club"}));
  EXPECT_EQ(names("?q=axb+club"), std::set<std::string>{"axb club"});
  EXPECT_EQ(names("?q=o%27brien"), std::set<std::string>{"O'Brien's \"pub\""});
  EXPECT_EQ(names("?q=%22pub%22"), std::set<std::string>{"O'Brien's \"pub\""});
  EXPECT_EQ(names("?q=%27%20OR%20%271%27%3D%271"), std::set<std::string>{});
  EXPECT_EQ(names("?q=x%27)%3B%20DROP%20TABLE%20chatrooms%3B%20--"), std::set<std::string>{});
  EXPECT_EQ(names("?q=%5C"), std::set<std::string>{});
  EXPECT_EQ(names("?q=hidden"), std::set<std::string>{}) << "private rooms are not listed";

  auto first = get("/api/chatrooms?limit=2", owner);
  ASSERT_EQ(first.result_int(), 200);
  EXPECT_EQ(json_of(first).at("chatrooms").as_array().size(), 2u);
  EXPECT_EQ(json_of(first).at("next_offset"), 2);
  auto last = get("/api/chatrooms?limit=2&offset=4", owner);
  ASSERT_EQ(last.result_int(), 200);
  EXPECT_EQ(json_of(last).at("chatrooms").as_array().size(), 1u);
  EXPECT_TRUE(json_of(last).at("next_offset").is_null());
  // The tables are intact after the injection attempts.
  EXPECT_EQ(sql("SELECT COUNT(*) AS n FROM chatrooms")[0].get<std::int64_t>("n").value(), 6);
}

TEST_P(ChatroomsTest, PhotosAreCheckedStoredReplacedAndServed) {
  auto owner = register_user("olga");
  auto mia = register_user("mia");
  const auto id = create_room(owner, {{"name", "Photogenic"}});
  ASSERT_EQ(join(mia, id), 200);
  const auto upload = [&](const Account& who, std::int64_t room, const std::string& body) {
    return request(port(), http::verb::post, room_path(room, "/photo"), body,
                   {{"Content-Type", "multipart/form-data; boundary=XBOUNDARYX"},
                    {"Authorization", "Bearer " + who.access_token}});
  };
  const auto folder = server_.folder() / "uploads" / "chatroom_photo";
  const auto stored_files = [&folder] {
    std::size_t n = 0;
    for (const auto& entry : std::filesystem::directory_iterator(folder)) {
      if (entry.is_regular_file()) ++n;
    }
    return n;
  };

  auto fake = upload(owner, id, multipart("photo", "cat.png", "image/png", "<html>hi</html>"));
  EXPECT_EQ(fake.result_int(), 415) << fake.body();
  auto oversize = upload(
      owner, id, multipart("photo", "big.png", "image/png", kPng + std::string(200000, 'x')));
  EXPECT_EQ(oversize.result_int(), 413);
  auto missing = upload(owner, id, multipart("picture", "x.png", "image/png", kPng));
  EXPECT_EQ(missing.result_int(), 422);
  EXPECT_EQ(upload(mia, id, multipart("photo", "x.png", "image/png", kPng)).result_int(), 403);
  EXPECT_EQ(upload(owner, 987654, multipart("photo", "x.png", "image/png", kPng)).result_int(),
            404);
  EXPECT_EQ(stored_files(), 0u) << "nothing is stored for a refused upload";

  auto reply = upload(owner, id, multipart("photo", "../../x.html", "text/html", kPng));
  ASSERT_EQ(reply.result_int(), 200) << reply.body();
  const std::string url(json_of(reply).at("chatroom").at("photo_url").as_string());
  const std::string prefix = std::string(TestServer::kBackendUrl) + "/uploads/chatroom_photo/";
  ASSERT_TRUE(url.starts_with(prefix)) << url;
  EXPECT_TRUE(url.ends_with(".png"));
  const std::string path = url.substr(std::string(TestServer::kBackendUrl).size());
  auto image = request(port(), http::verb::get, path);
  ASSERT_EQ(image.result_int(), 200);
  EXPECT_EQ(image[http::field::content_type], "image/png");
  EXPECT_EQ(image["Content-Security-Policy"], "sandbox");
  EXPECT_EQ(image.body(), kPng);

  ASSERT_EQ(upload(owner, id, multipart("photo", "again.png", "image/png", kPng)).result_int(),
            200);
  EXPECT_EQ(stored_files(), 1u) << "the replaced photo is removed";
  EXPECT_EQ(request(port(), http::verb::get, path).result_int(), 404);
  for (const char* bad :
       {"/uploads/chatroom_photo/..%2f..%2fparley.db", "/uploads/chatroom_photo/x.png",
        "/uploads/chatroom_photo/0123456789abcdef0123456789abcdef.html"}) {
    EXPECT_EQ(request(port(), http::verb::get, bad).result_int(), 404) << bad;
  }
  // Deleting the room removes its photo.
  ASSERT_EQ(del(room_path(id), owner).result_int(), 200);
  EXPECT_EQ(stored_files(), 0u);
}

}  // namespace
}  // namespace parley::testing
