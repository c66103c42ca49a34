// GET /metrics and GET /api/admin/metrics through real HTTP against a real server: the access
// rules (loopback without a token, bearer token when configured, proxied requests refused,
// administrators only), the text format's content type, counters that follow the requests
// made, and the usage statistics with sampled history. On SQLite and PostgreSQL.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "api/metrics_routes.hpp"
#include "api_test_support.hpp"
#include "store/database.hpp"
#include "support/database_test.hpp"
#include "support/test_server.hpp"

namespace parley::testing {
namespace {

namespace json = boost::json;

constexpr const char* kToken = "metrics-token-0123456789";
constexpr const char* kPassword = "a long and private passphrase";

Account register_user(std::uint16_t port, const std::string& name) {
  auto reply =
      post_json(port, "/api/register",
                {{"email", name + "@example.test"}, {"username", name}, {"password", kPassword}});
  EXPECT_EQ(reply.result_int(), 201) << reply.body();
  return account_of(reply);
}

Reply get_metrics(std::uint16_t port, Headers headers = {}) {
  return request(port, http::verb::get, "/metrics", "", headers);
}

class MetricsApiTest : public ::testing::TestWithParam<DatabaseKind> {};

INSTANTIATE_TEST_SUITE_P(Backends, MetricsApiTest,
                         ::testing::Values(DatabaseKind::sqlite, DatabaseKind::postgres),
                         backend_name);

TEST_P(MetricsApiTest, LoopbackScrapeWithoutTokenShowsTheRequestsMade) {
  TestServer server(GetParam());
  for (int i = 0; i < 3; ++i) ASSERT_EQ(get_with(server.port(), "/healthz").result_int(), 200);
  ASSERT_EQ(get_with(server.port(), "/api/no-such-thing").result_int(), 404);
  auto reply = get_metrics(server.port());
  ASSERT_EQ(reply.result_int(), 200) << reply.body();
  EXPECT_EQ(reply[http::field::content_type], "text/plain; version=0.0.4; charset=utf-8");
  const auto& text = reply.body();
  EXPECT_NE(
      text.find("parley_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"} 3\n"),
      std::string::npos)
      << text;
  EXPECT_NE(
      text.find(
          "parley_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 1\n"),
      std::string::npos);
  EXPECT_NE(text.find("parley_http_requests_in_flight 1\n"), std::string::npos)
      << "the scrape itself is in flight";
  for (const char* name :
       {"process_resident_memory_bytes", "process_cpu_seconds_total", "process_open_fds",
        "process_start_time_seconds", "process_virtual_memory_bytes", "parley_db_pool_in_use",
        "parley_db_pool_connections", "parley_socketio_connections", "parley_socketio_rooms",
        "parley_socketio_events_received_total", "parley_socketio_events_sent_total",
        "parley_translation_queue_jobs{state=\"queued\"}", "parley_worker_pool_pending"}) {
    EXPECT_NE(text.find(std::string("\n") + name), std::string::npos) << name << "\n" << text;
  }
}

TEST_P(MetricsApiTest, ProxiedRequestsAreNotLocal) {
  TestServer server(GetParam());
  for (const char* header : {"X-Forwarded-For", "Forwarded", "X-Real-IP"}) {
    auto reply = get_metrics(server.port(), {{header, "203.0.113.9"}});
    EXPECT_EQ(reply.result_int(), 403) << header;
    EXPECT_EQ(error_code_of(reply), "forbidden");
  }
}

TEST_P(MetricsApiTest, TokenIsRequiredWhenConfigured) {
  TestServer server(GetParam(), {{"PARLEY_METRICS_TOKEN", kToken}});
  auto missing = get_metrics(server.port());
  EXPECT_EQ(missing.result_int(), 401);
  EXPECT_EQ(missing[http::field::www_authenticate], "Bearer");
  EXPECT_EQ(error_code_of(missing), "unauthorized");
  EXPECT_EQ(
      get_metrics(server.port(), {{"Authorization", "Bearer wrong-token-0123456789"}}).result_int(),
      401);
  EXPECT_EQ(
      get_metrics(server.port(), {{"Authorization", std::string("Basic ") + kToken}}).result_int(),
      401);
  EXPECT_EQ(get_metrics(server.port(), {{"Authorization", std::string("Bearer ") + kToken + "x"}})
                .result_int(),
            401);
  auto ok = get_metrics(server.port(), {{"Authorization", std::string("bearer ") + kToken}});
  EXPECT_EQ(ok.result_int(), 200);
  // A token lets remote (proxied) scrapers in.
  auto proxied = get_metrics(server.port(), {{"Authorization", std::string("Bearer ") + kToken},
                                             {"X-Forwarded-For", "203.0.113.9"}});
  EXPECT_EQ(proxied.result_int(), 200);
}

TEST_P(MetricsApiTest, AdminMetricsIsForAdministratorsOnly) {
  TestServer server(GetParam(), {{"PARLEY_ADMIN_EMAILS", "Boss@Example.test"}});
  const auto port = server.port();
  auto anonymous = get_with(port, "/api/admin/metrics");
  EXPECT_EQ(anonymous.result_int(), 401);
  auto user = register_user(port, "someone");
  auto refused = get_with(port, "/api/admin/metrics", user.access_token);
  EXPECT_EQ(refused.result_int(), 403);
  EXPECT_EQ(error_code_of(refused), "forbidden");
  auto guest = account_of(post_json(port, "/api/guest", json::object{}));
  EXPECT_EQ(get_with(port, "/api/admin/metrics", guest.access_token).result_int(), 403);

  auto boss = register_user(port, "boss");
  auto reply = get_with(port, "/api/admin/metrics", boss.access_token);
  ASSERT_EQ(reply.result_int(), 200) << reply.body();
  auto body = json_of(reply).as_object();
  EXPECT_EQ(body.at("active_users").at("last_24h"), 0);
  EXPECT_EQ(body.at("active_users").at("connections_now"), 0);
  EXPECT_EQ(body.at("messages").at("total"), 0);
  EXPECT_TRUE(body.at("speech").as_object().contains("minutes_total"));
  EXPECT_TRUE(body.at("translation").as_object().contains("characters_since_start"));
  EXPECT_FALSE(body.contains("series"));

  for (const char* bad :
       {"?series=bad-name", "?since=-5", "?since=abc", "?other=1", "?series=a&series=b"}) {
    auto refused_query = get_with(port, std::string("/api/admin/metrics") + bad, boss.access_token);
    EXPECT_EQ(refused_query.result_int(), 400) << bad << " " << refused_query.body();
  }
}

TEST_P(MetricsApiTest, AdminMetricsReturnsSampledSeries) {
  TestServer server(GetParam(), {{"PARLEY_ADMIN_EMAILS", "boss@example.test"}});
  const auto port = server.port();
  auto boss = register_user(port, "boss");
  {
    auto database = store::open_database(server.database_url());
    ASSERT_TRUE(database);
    auto lease = (*database)->acquire();
    ASSERT_TRUE(lease);
    for (std::int64_t at : {1000, 2000, 3000}) {
      ASSERT_TRUE((*lease)->execute(
          "INSERT INTO metrics (name, labels, value, recorded_at) VALUES ($1, $2, $3, $4)",
          {"parley_socketio_rooms", "{\"node\":\"n1\"}", static_cast<double>(at / 1000), at}));
    }
  }
  auto reply = get_with(port, "/api/admin/metrics?series=parley_socketio_rooms&since=2000",
                        boss.access_token);
  ASSERT_EQ(reply.result_int(), 200) << reply.body();
  auto series = json_of(reply).at("series").as_object();
  EXPECT_EQ(series.at("name"), "parley_socketio_rooms");
  EXPECT_EQ(series.at("truncated"), false);
  auto points = series.at("points").as_array();
  ASSERT_EQ(points.size(), 2u);
  EXPECT_EQ(points[0].at("recorded_at"), 2000);
  EXPECT_EQ(points[0].at("value").to_number<double>(), 2.0);
  EXPECT_EQ(points[0].at("labels").at("node"), "n1");
}

// Pure helpers of the access rules.
TEST(MetricsAccess, BearerMatching) {
  EXPECT_TRUE(api::bearer_matches("Bearer abc", "abc"));
  EXPECT_TRUE(api::bearer_matches("BEARER abc", "abc"));
  EXPECT_FALSE(api::bearer_matches("Bearer abd", "abc"));
  EXPECT_FALSE(api::bearer_matches("Bearer ", ""));
  EXPECT_FALSE(api::bearer_matches("Bearer abc", ""));
  EXPECT_FALSE(api::bearer_matches("abc", "abc"));
}

TEST(MetricsAccess, QueryParsing) {
  auto none = api::parse_admin_metrics_query("");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->series.empty());
  EXPECT_EQ(none->since, -1);
  auto both = api::parse_admin_metrics_query("series=process_cpu_seconds_total&since=5");
  ASSERT_TRUE(both);
  EXPECT_EQ(both->series, "process_cpu_seconds_total");
  EXPECT_EQ(both->since, 5);
  auto encoded = api::parse_admin_metrics_query("series=a%3Ab");
  ASSERT_TRUE(encoded);
  EXPECT_EQ(encoded->series, "a:b");
  EXPECT_FALSE(api::parse_admin_metrics_query("since=99999999999999999999"));
  EXPECT_FALSE(api::parse_admin_metrics_query("series=" + std::string(201, 'a')));
}

}  // namespace
}  // namespace parley::testing
