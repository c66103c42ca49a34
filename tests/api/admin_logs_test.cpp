// GET /api/admin/logs through real HTTP: who may read (admins by e-mail, not other users nor
// anonymous callers), the filters and their validation, pagination, and the request id of an
// HTTP request found on the debug_log rows that request caused. SQLite and PostgreSQL.

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <set>
#include <thread>

#include "api/admin_access.hpp"
#include "api/admin_log_routes.hpp"
#include "api_test_support.hpp"
#include "support/database_test.hpp"
#include "support/test_server.hpp"

namespace parley::testing {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

constexpr const char* kPassword = "a long and private passphrase";

class AdminLogsTest : public ::testing::TestWithParam<DatabaseKind> {
 protected:
  AdminLogsTest()
      : server_(GetParam(), {{"PARLEY_ADMIN_EMAILS", "Boss@Example.test, other@example.test"},
                             {"PARLEY_DEBUG_LOG_LEVEL", "debug"}}) {}
  std::uint16_t port() const { return server_.port(); }

  Account register_user(const std::string& name, const Headers& extra = {}) {
    Headers headers{{"Content-Type", "application/json"}};
    headers.insert(headers.end(), extra.begin(), extra.end());
    auto reply = request(
        port(), http::verb::post, "/api/register",
        json::serialize(json::object{
            {"email", name + "@example.test"}, {"username", name}, {"password", kPassword}}),
        headers);
    EXPECT_EQ(reply.result_int(), 201) << reply.body();
    return account_of(reply);
  }

  // Polls until the rows the query asks for have been written (the writer is asynchronous).
  json::object logs(const std::string& query, const std::string& token, std::size_t at_least = 0) {
    json::object body;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    do {
      auto reply = get_with(port(), "/api/admin/logs" + query, token);
      EXPECT_EQ(reply.result_int(), 200) << reply.body();
      if (reply.result_int() != 200) return {};
      body = json_of(reply).as_object();
      if (body.at("logs").as_array().size() >= at_least) break;
      std::this_thread::sleep_for(50ms);
    } while (std::chrono::steady_clock::now() < deadline);
    return body;
  }

  TestServer server_;
};

INSTANTIATE_TEST_SUITE_P(Backends, AdminLogsTest,
                         ::testing::Values(DatabaseKind::sqlite, DatabaseKind::postgres),
                         backend_name);

TEST_P(AdminLogsTest, OnlyAdminsMayRead) {
  const auto admin = register_user("boss");
  const auto user = register_user("someone");
  auto anonymous = get_with(port(), "/api/admin/logs");
  EXPECT_EQ(anonymous.result_int(), 401) << anonymous.body();
  EXPECT_EQ(error_code_of(anonymous), "unauthorized");
  auto bad_token = get_with(port(), "/api/admin/logs", "not-a-token");
  EXPECT_EQ(bad_token.result_int(), 401);
  auto forbidden = get_with(port(), "/api/admin/logs", user.access_token);
  EXPECT_EQ(forbidden.result_int(), 403) << forbidden.body();
  EXPECT_EQ(error_code_of(forbidden), "forbidden");
  auto guest = post_json(port(), "/api/guest", json::object{});
  ASSERT_EQ(guest.result_int(), 201) << guest.body();
  auto as_guest = get_with(port(), "/api/admin/logs", account_of(guest).access_token);
  EXPECT_EQ(as_guest.result_int(), 403);
  auto allowed = get_with(port(), "/api/admin/logs", admin.access_token);
  EXPECT_EQ(allowed.result_int(), 200) << allowed.body();
  EXPECT_EQ(allowed[http::field::cache_control], "no-store");
}

TEST_P(AdminLogsTest, AnHttpRequestsIdIsOnTheRowsItCaused) {
  const auto admin = register_user("boss");
  register_user("carol", {{"X-Request-Id", "trace-carol-0001"}});
  const auto body = logs("?request_id=trace-carol-0001", admin.access_token, 2);
  const auto& rows = body.at("logs").as_array();
  std::set<std::string> sources;
  for (const auto& row : rows) {
    EXPECT_EQ(row.at("request_id"), "trace-carol-0001");
    sources.insert(std::string(row.at("source").as_string()));
  }
  // The handler's own line and the server's access line, tied by the request id.
  EXPECT_TRUE(sources.count("account_registered")) << json::serialize(body);
  EXPECT_TRUE(sources.count("http_request")) << json::serialize(body);
  for (const auto& row : rows) {
    if (row.at("source") == "account_registered") {
      EXPECT_EQ(row.at("level"), "info");
      EXPECT_TRUE(row.at("context").is_object());
      EXPECT_TRUE(row.at("context").as_object().contains("user_id"));
    }
  }
}

TEST_P(AdminLogsTest, FiltersAndPages) {
  const auto admin = register_user("boss");
  const auto user = register_user("someone");
  // A refusal is logged at warning level: something to filter on.
  get_with(port(), "/api/admin/logs", user.access_token);
  const auto warnings = logs("?level=warning&source=admin_access_refused", admin.access_token, 1);
  for (const auto& row : warnings.at("logs").as_array()) {
    EXPECT_EQ(row.at("source"), "admin_access_refused");
    EXPECT_EQ(row.at("level"), "warning");
  }
  ASSERT_GE(warnings.at("logs").as_array().size(), 1u);
  EXPECT_TRUE(warnings.at("next_before_id").is_null());

  // Pages of 2, newest first, until the end.
  const auto all = logs("?limit=1000", admin.access_token, 5);
  const auto total = all.at("logs").as_array().size();
  ASSERT_GE(total, 5u);
  std::vector<std::int64_t> seen;
  std::string query = "?limit=2";
  for (int page = 0; page < 1000; ++page) {
    auto reply = get_with(port(), "/api/admin/logs" + query, admin.access_token);
    ASSERT_EQ(reply.result_int(), 200) << reply.body();
    auto body = json_of(reply).as_object();
    for (const auto& row : body.at("logs").as_array()) seen.push_back(row.at("id").as_int64());
    if (body.at("next_before_id").is_null()) break;
    query = "?limit=2&before_id=" + std::to_string(body.at("next_before_id").as_int64());
  }
  ASSERT_GE(seen.size(), total);
  EXPECT_TRUE(std::is_sorted(seen.rbegin(), seen.rend()));
  EXPECT_EQ(std::adjacent_find(seen.begin(), seen.end()), seen.end()) << "no row twice";

  // A time window that holds nothing, and one that holds everything.
  const auto empty = logs("?since=0&until=1", admin.access_token);
  EXPECT_TRUE(empty.at("logs").as_array().empty());
  const auto window = logs("?since=1&until=9999999999999&limit=1", admin.access_token, 1);
  EXPECT_EQ(window.at("logs").as_array().size(), 1u);
  EXPECT_FALSE(window.at("next_before_id").is_null());
}

TEST_P(AdminLogsTest, BadFiltersAreRefusedWith400) {
  const auto admin = register_user("boss");
  const std::vector<std::string> refused{
      "?limit=0",    "?limit=1001",      "?limit=ten",       "?limit=",
      "?level=loud", "?since=-1",        "?since=5&until=5", "?since=9&until=1",
      "?until=1e3",  "?before_id=0",     "?request_id=",     "?source=" + std::string(201, 'x'),
      "?colour=red", "?limit=1&limit=2", "?level=%zz",       "?request_id=%FF"};
  for (const auto& query : refused) {
    auto reply = get_with(port(), "/api/admin/logs" + query, admin.access_token);
    EXPECT_EQ(reply.result_int(), 400) << query << ": " << reply.body();
    EXPECT_EQ(error_code_of(reply), "invalid_request") << query;
  }
  // Well-formed ones pass.
  for (const std::string query :
       {"", "?level=DEBUG", "?level=warn", "?limit=1000", "?request_id=a%20b", "?before_id=1"}) {
    auto reply = get_with(port(), "/api/admin/logs" + query, admin.access_token);
    EXPECT_EQ(reply.result_int(), 200) << query << ": " << reply.body();
  }
}

TEST(AdminAccessTest, EmailsCompareCaseInsensitively) {
  const std::vector<std::string> admins{"boss@example.test"};
  EXPECT_TRUE(api::is_admin_email(admins, "Boss@Example.TEST"));
  EXPECT_FALSE(api::is_admin_email(admins, "boss@example.tes"));
  EXPECT_FALSE(api::is_admin_email(admins, ""));
  EXPECT_FALSE(api::is_admin_email({}, "boss@example.test"));
}

TEST(AdminLogQueryTest, ParsesEveryFilter) {
  auto query = api::parse_log_query(
      "level=info&since=10&until=20&request_id=abc&source=http_request&limit=5&before_id=99");
  ASSERT_TRUE(query) << query.error().message;
  EXPECT_EQ(query->min_level, core::LogLevel::info);
  EXPECT_EQ(query->since, 10);
  EXPECT_EQ(query->until, 20);
  EXPECT_EQ(query->request_id, "abc");
  EXPECT_EQ(query->source, "http_request");
  EXPECT_EQ(query->limit, 5u);
  EXPECT_EQ(query->before_id, 99);
  auto defaults = api::parse_log_query("");
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->limit, 100u);
  EXPECT_FALSE(defaults->min_level);
}

}  // namespace
}  // namespace parley::testing
