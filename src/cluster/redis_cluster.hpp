#pragma once
// The processes of one deployment, joined through Redis: pub/sub for the bus, hashes for
// presence, a sorted set of live processes (heartbeats) to notice one that vanished.
//
// Threads (each owns its connection): the receiver (SUBSCRIBE, pings, hands messages to the
// handlers), the writer (publishes and presence changes from a bounded queue, heartbeats, the
// janitor that cleans up after dead processes) and callers of members() (a third connection
// behind a mutex). Losing Redis is survivable: messages are dropped and counted, each process
// keeps serving its own clients, healthy() turns false and everything is restored once Redis
// answers again (subscriptions, heartbeat, this process's presence).

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cluster/redis_connection.hpp"
#include "core/cluster.hpp"
#include "core/log.hpp"

namespace parley::cluster {

struct RedisClusterOptions {
  RedisEndpoint endpoint;
  std::string node_id;
  std::string key_prefix = "parley:";
  std::chrono::milliseconds timeout{1000};  ///< one command's deadline
  std::chrono::milliseconds heartbeat{1000};
  /// A process whose heartbeat is older than this is gone: its presence is cleared.
  std::chrono::milliseconds node_expiry{5000};
  std::size_t max_queued = 100'000;  ///< writes waiting for Redis; past it they are dropped
};

struct RedisClusterStats {
  std::uint64_t published = 0;
  std::uint64_t received = 0;
  std::uint64_t dropped = 0;  ///< messages and presence changes lost while Redis was away
  std::uint64_t reconnects = 0;
  bool healthy = false;
};

class RedisCluster final : public core::ClusterBus, public core::PresenceDirectory {
 public:
  RedisCluster(RedisClusterOptions options, core::Logger& log);
  /// Stops the threads; says goodbye (this process's presence and heartbeat) when Redis answers.
  ~RedisCluster() override;
  RedisCluster(const RedisCluster&) = delete;
  RedisCluster& operator=(const RedisCluster&) = delete;

  /// Starts the threads (after every subscribe()). Does not wait for Redis: a process may start
  /// while Redis is down and joins once it is up.
  void start();
  /// Stops the threads after flushing what is queued and saying goodbye (bounded by the
  /// timeout). Afterwards publishes and presence changes are dropped and members() answers
  /// unavailable, so late callers (workers finishing at shutdown) are harmless. Idempotent.
  void stop();
  /// Blocks until connected (or `deadline` passes): for start-up logs and tests.
  bool wait_healthy(std::chrono::milliseconds deadline) const;
  RedisClusterStats stats() const;

  // core::ClusterBus
  void subscribe(std::string topic, Handler handler) override;
  void publish(std::string_view topic, std::string payload) override;
  bool healthy() const override;

  // core::PresenceDirectory
  void enter(const std::string& room, const std::string& connection_id,
             std::string member) override;
  void leave(const std::string& room, const std::string& connection_id) override;
  Result<std::vector<std::string>> members(const std::string& room) override;
  void on_lost(LostHandler handler) override;

 private:
  using Command = std::vector<std::string>;
  void receive_loop();
  void write_loop();
  void queue(Command command);
  /// Sends `batch` pipelined; false when the connection broke.
  bool send_batch(RedisConnection& connection, const std::vector<Command>& batch);
  /// Heartbeat plus cleanup after dead processes; false when the connection broke.
  bool heartbeat(RedisConnection& connection);
  /// Removes this node's entries that its own record no longer has (left during an outage,
  /// or left by an earlier process with the same node id); false when the connection broke.
  bool forget_stale(RedisConnection& connection);
  /// Redis's clock (ms): every process compares heartbeats on the same clock.
  Result<std::int64_t> redis_now(RedisConnection& connection) const;
  /// A handler call that cannot end the thread.
  template <typename Call>
  void guarded(std::string_view what, Call&& call);
  /// Everything this process holds in Redis, written again (after Redis came back).
  std::vector<Command> restore_commands(std::int64_t now_ms) const;
  Result<RedisConnection> connect() const;
  /// members() with reader_mutex_ held.
  Result<std::vector<std::string>> read_members(const std::string& room);
  void set_state(bool receiver, bool up);
  std::int64_t now_ms() const;
  std::string presence_key(const std::string& room) const;
  std::string rooms_key(const std::string& node) const;
  std::string field(const std::string& connection_id) const;

  const RedisClusterOptions options_;
  core::Logger& log_;
  std::map<std::string, Handler> handlers_;  // by channel; fixed after start()
  LostHandler lost_;

  mutable std::mutex mutex_;  // guards the queue, the mirror and the state below
  mutable std::condition_variable changed_;
  std::deque<Command> queue_;
  bool stopping_ = false;
  bool receiver_up_ = false;
  bool writer_up_ = false;
  bool was_up_ = false;
  bool reconnect_writer_ = false;
  // What this process has put into the presence directory: room -> connection -> member.
  std::map<std::string, std::map<std::string, std::string>> mirror_;

  std::mutex reader_mutex_;  // members()
  std::optional<RedisConnection> reader_;
  std::int64_t reader_retry_at_ = 0;

  std::atomic<std::uint64_t> published_{0};
  std::atomic<std::uint64_t> received_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> reconnects_{0};

  std::thread receiver_;
  std::thread writer_;
};

}  // namespace parley::cluster
