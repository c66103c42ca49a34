// Processes joined through a real Redis: the bus, presence across processes, cleanup after a
// process that vanished, and a Redis outage survived and recovered from.
#include "cluster/redis_cluster.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <mutex>
#include <thread>

#include "redis_server.hpp"

namespace parley::cluster {
namespace {

using namespace std::chrono_literals;

class CapturingSink final : public core::LogSink {
 public:
  void write_line(std::string_view line) override {
    std::lock_guard lock(mutex);
    lines.emplace_back(line);
  }
  bool saw(std::string_view event) {
    std::lock_guard lock(mutex);
    return std::any_of(lines.begin(), lines.end(), [&](const std::string& line) {
      return line.find("\"event\":\"" + std::string(event) + "\"") != std::string::npos;
    });
  }
  std::mutex mutex;
  std::vector<std::string> lines;
};

bool eventually(const std::function<bool()>& check, std::chrono::milliseconds within = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < deadline) {
    if (check()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return check();
}

class RedisClusterTest : public ::testing::Test {
 protected:
  RedisClusterOptions options(const std::string& node) const {
    RedisClusterOptions out;
    out.endpoint = *parse_redis_url(server.url());
    out.node_id = node;
    out.timeout = 300ms;
    out.heartbeat = 100ms;
    out.node_expiry = 600ms;
    return out;
  }
  std::vector<std::string> sorted_members(RedisCluster& node, const std::string& room) {
    auto members = node.members(room);
    if (!members) return {"<" + members.error().message + ">"};
    std::sort(members->begin(), members->end());
    return *members;
  }

  testing::RedisServer server;
  CapturingSink sink;
  core::Logger log{sink, core::LogLevel::debug};
};

struct Inbox {
  std::mutex mutex;
  std::vector<std::string> messages;
  core::ClusterBus::Handler handler() {
    return [this](std::string_view payload) {
      std::lock_guard lock(mutex);
      messages.emplace_back(payload);
    };
  }
  std::vector<std::string> read() {
    std::lock_guard lock(mutex);
    return messages;
  }
};

TEST_F(RedisClusterTest, ABroadcastReachesTheOtherProcessesButNotItsSender) {
  Inbox at_a;
  Inbox at_b;
  RedisCluster a(options("a"), log);
  RedisCluster b(options("b"), log);
  a.subscribe("sio", at_a.handler());
  b.subscribe("sio", at_b.handler());
  a.start();
  b.start();
  ASSERT_TRUE(a.wait_healthy(3s));
  ASSERT_TRUE(b.wait_healthy(3s));
  a.publish("sio", "one");
  a.publish("sio", std::string("two\nlines\0and a nul", 19));
  a.publish("other-topic", "nobody listens");
  ASSERT_TRUE(eventually([&] { return at_b.read().size() == 2; }));
  EXPECT_EQ(at_b.read()[0], "one");
  EXPECT_EQ(at_b.read()[1], std::string("two\nlines\0and a nul", 19)) << "in order, binary-safe";
  std::this_thread::sleep_for(100ms);
  EXPECT_TRUE(at_a.read().empty()) << "a process already delivered its own broadcasts";
  EXPECT_EQ(a.stats().published, 3u);
  EXPECT_TRUE(a.healthy());
}

TEST_F(RedisClusterTest, PresenceSpansProcessesAndAGracefulStopSaysGoodbye) {
  RedisCluster a(options("a"), log);
  auto b = std::make_unique<RedisCluster>(options("b"), log);
  a.start();
  b->start();
  ASSERT_TRUE(a.wait_healthy(3s) && b->wait_healthy(3s));
  a.enter("room:1", "sid-a", R"({"id":1})");
  b->enter("room:1", "sid-b", R"({"id":2})");
  b->enter("room:2", "sid-b", R"({"id":2})");
  ASSERT_TRUE(eventually([&] {
    return sorted_members(a, "room:1") == std::vector<std::string>{R"({"id":1})", R"({"id":2})"};
  }));
  b->leave("room:2", "sid-b");
  EXPECT_TRUE(eventually([&] { return sorted_members(a, "room:2").empty(); }));
  b.reset();  // stops: removes its presence at once, without waiting for the expiry
  EXPECT_EQ(sorted_members(a, "room:1"), std::vector<std::string>{R"({"id":1})"});
}

TEST_F(RedisClusterTest, AVanishedProcessIsCleanedUpByExactlyOneSurvivor) {
  std::mutex mutex;
  std::vector<std::pair<std::string, std::string>> lost;
  auto record = [&](const std::string& room, const std::string& member) {
    std::lock_guard lock(mutex);
    lost.emplace_back(room, member);
  };
  RedisCluster a(options("a"), log);
  RedisCluster b(options("b"), log);
  a.on_lost(record);
  b.on_lost(record);
  a.start();
  b.start();
  ASSERT_TRUE(a.wait_healthy(3s) && b.wait_healthy(3s));
  // A process that was killed: its presence and an old heartbeat, and nothing else.
  auto redis = RedisConnection::open(*parse_redis_url(server.url()), 500ms);
  ASSERT_TRUE(redis);
  ASSERT_TRUE(redis->command({"ZADD", "parley:nodes", "1000", "ghost"}));
  ASSERT_TRUE(redis->command({"HSET", "parley:presence:room:7", "ghost|sid-g", R"({"id":9})"}));
  ASSERT_TRUE(redis->command({"SADD", "parley:node-rooms:ghost", "room:7"}));
  a.enter("room:7", "sid-a", R"({"id":1})");
  // (enter() is asynchronous; the ghost, dead or cleaned up, is never listed.)
  EXPECT_TRUE(eventually([&] {
    return sorted_members(a, "room:7") == std::vector<std::string>{R"({"id":1})"};
  })) << "a dead process's members are not shown even before the cleanup";
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mutex);
    return !lost.empty();
  }));
  std::this_thread::sleep_for(400ms);  // several more heartbeats of both survivors
  std::lock_guard lock(mutex);
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(lost[0].first, "room:7");
  EXPECT_EQ(lost[0].second, R"({"id":9})");
  auto left = redis->command({"HEXISTS", "parley:presence:room:7", "ghost|sid-g"});
  ASSERT_TRUE(left);
  EXPECT_EQ(left->integer, 0);
  EXPECT_TRUE(sink.saw("cluster_node_lost"));
}

TEST_F(RedisClusterTest, SurvivesARedisOutageAndRestoresItsStateAfterIt) {
  Inbox at_b;
  RedisCluster a(options("a"), log);
  RedisCluster b(options("b"), log);
  b.subscribe("chat", at_b.handler());
  a.start();
  b.start();
  ASSERT_TRUE(a.wait_healthy(3s) && b.wait_healthy(3s));
  a.enter("room:1", "sid-1", R"({"id":1})");
  ASSERT_TRUE(eventually([&] { return sorted_members(b, "room:1").size() == 1; }));

  server.stop();
  ASSERT_TRUE(eventually([&] { return !a.healthy() && !b.healthy(); }));
  EXPECT_TRUE(sink.saw("redis_lost"));
  a.publish("chat", "lost while Redis is away");
  a.enter("room:1", "sid-2", R"({"id":2})");  // remembered, written once Redis is back
  EXPECT_TRUE(eventually([&] { return a.stats().dropped >= 1; }));
  auto members = a.members("room:1");
  ASSERT_FALSE(members);
  EXPECT_EQ(members.error().code, Errc::unavailable);

  server.start();  // same port, empty: nothing survived in Redis itself
  ASSERT_TRUE(eventually([&] { return a.healthy() && b.healthy(); }, 10s));
  EXPECT_TRUE(sink.saw("redis_recovered"));
  EXPECT_TRUE(eventually(
      [&] {
        return sorted_members(b, "room:1") ==
               std::vector<std::string>{R"({"id":1})", R"({"id":2})"};
      },
      5s))
      << "presence written again from each process's own record";
  a.publish("chat", "back");
  ASSERT_TRUE(eventually([&] { return !at_b.read().empty(); }));
  EXPECT_EQ(at_b.read(), std::vector<std::string>{"back"});
}

TEST_F(RedisClusterTest, AProcessForgetsWhatAnEarlierOneWithItsNameLeftBehind) {
  // A process with the same node id died without cleaning up (a container restarted fast).
  auto redis = RedisConnection::open(*parse_redis_url(server.url()), 500ms);
  ASSERT_TRUE(redis);
  ASSERT_TRUE(redis->command({"HSET", "parley:presence:room:3", "a|old-sid", R"({"id":5})"}));
  ASSERT_TRUE(redis->command({"SADD", "parley:node-rooms:a", "room:3"}));
  RedisCluster a(options("a"), log);
  a.start();
  ASSERT_TRUE(a.wait_healthy(3s));
  auto left = redis->command({"HEXISTS", "parley:presence:room:3", "a|old-sid"});
  ASSERT_TRUE(left);
  EXPECT_EQ(left->integer, 0) << "cleared before this process called itself healthy";
  EXPECT_TRUE(sorted_members(a, "room:3").empty());
}

TEST_F(RedisClusterTest, AProcessTakenForDeadWritesItsPresenceAgain) {
  RedisCluster a(options("a"), log);
  RedisCluster b(options("b"), log);
  a.start();
  b.start();
  ASSERT_TRUE(a.wait_healthy(3s) && b.wait_healthy(3s));
  a.enter("room:4", "sid-a", R"({"id":1})");
  ASSERT_TRUE(eventually([&] { return sorted_members(b, "room:4").size() == 1; }));
  // What another process's janitor does to a process that stalled past the expiry.
  auto redis = RedisConnection::open(*parse_redis_url(server.url()), 500ms);
  ASSERT_TRUE(redis);
  ASSERT_TRUE(redis->command({"ZREM", "parley:nodes", "a"}));
  ASSERT_TRUE(redis->command({"DEL", "parley:presence:room:4", "parley:node-rooms:a"}));
  EXPECT_TRUE(eventually([&] { return sorted_members(b, "room:4").size() == 1; }))
      << "its next heartbeat notices and restores";
  EXPECT_TRUE(sink.saw("cluster_node_rejoined"));
}

}  // namespace
}  // namespace parley::cluster
