// REDIS_URL parsing and one connection's commands against a real redis-server.
#include "cluster/redis_connection.hpp"

#include <gtest/gtest.h>

#include "redis_server.hpp"

namespace parley::cluster {
namespace {

using namespace std::chrono_literals;

TEST(RedisUrl, ParsesHostPortPasswordAndDatabase) {
  auto plain = parse_redis_url("redis://cache.internal");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->host, "cache.internal");
  EXPECT_EQ(plain->port, 6379);
  EXPECT_EQ(plain->database, 0);

  auto full = parse_redis_url("redis://user:s3cret@10.0.0.5:6380/3");
  ASSERT_TRUE(full);
  EXPECT_EQ(full->host, "10.0.0.5");
  EXPECT_EQ(full->port, 6380);
  EXPECT_EQ(full->username, "user");
  EXPECT_EQ(full->password, "s3cret");
  EXPECT_EQ(full->database, 3);

  auto socket = parse_redis_url("unix:///run/redis/redis.sock");
  ASSERT_TRUE(socket);
  EXPECT_EQ(socket->unix_path, "/run/redis/redis.sock");
}

TEST(RedisUrl, RefusesWhatItCannotUseWithoutEchoingThePassword) {
  for (const char* bad : {"http://host", "redis://", "redis://host/db", "redis://host/16",
                          "unix://relative.sock", "redis://host:0"}) {
    auto parsed = parse_redis_url(bad);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_EQ(parsed.error().code, Errc::validation_failed);
  }
  auto secret = parse_redis_url("redis://:hunter2@host/99");
  ASSERT_FALSE(secret);
  EXPECT_EQ(secret.error().message.find("hunter2"), std::string::npos);
}

TEST(RedisConnection, RunsCommandsAndPipelines) {
  testing::RedisServer server;
  auto endpoint = parse_redis_url(server.url());
  ASSERT_TRUE(endpoint);
  auto connection = RedisConnection::open(*endpoint, 1000ms);
  ASSERT_TRUE(connection) << connection.error().message;
  auto set = connection->command({"SET", "k", std::string_view("a\0b", 3)});
  ASSERT_TRUE(set);
  EXPECT_EQ(set->type, RedisReply::Type::status);
  ASSERT_TRUE(connection->append({"GET", "k"}));
  ASSERT_TRUE(connection->append({"INCR", "n"}));
  auto got = connection->read_reply();
  auto counted = connection->read_reply();
  ASSERT_TRUE(got && counted);
  EXPECT_EQ(got->text, std::string("a\0b", 3)) << "binary-safe";
  EXPECT_EQ(counted->integer, 1);
  auto refused = connection->command({"INCR", "k"});
  ASSERT_TRUE(refused) << "an error reply is a value, not a broken connection";
  EXPECT_EQ(refused->type, RedisReply::Type::error);
}

TEST(RedisConnection, ReportsAnUnreachableServerAsUnavailable) {
  RedisEndpoint nowhere;
  nowhere.port = 1;  // nothing listens on port 1
  auto connection = RedisConnection::open(nowhere, 200ms);
  ASSERT_FALSE(connection);
  EXPECT_EQ(connection.error().code, Errc::unavailable);
}

TEST(RedisConnection, NoticesAServerThatWentAway) {
  testing::RedisServer server;
  auto connection = RedisConnection::open(*parse_redis_url(server.url()), 500ms);
  ASSERT_TRUE(connection);
  server.stop();
  auto reply = connection->command({"PING"});
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error().code, Errc::unavailable);
}

}  // namespace
}  // namespace parley::cluster
