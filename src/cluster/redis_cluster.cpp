#include "cluster/redis_cluster.hpp"

#include <charconv>
#include <chrono>
#include <cstdlib>
#include <set>

namespace parley::cluster {

namespace {

constexpr std::size_t kBatch = 512;
constexpr auto kReceivePoll = std::chrono::milliseconds(200);
constexpr auto kMaxBackoff = std::chrono::milliseconds(2000);

}  // namespace

RedisCluster::RedisCluster(RedisClusterOptions options, core::Logger& log)
    : options_(std::move(options)), log_(log) {}

RedisCluster::~RedisCluster() { stop(); }

void RedisCluster::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (receiver_.joinable()) receiver_.join();
  if (writer_.joinable()) writer_.join();
}

template <typename Call>
void RedisCluster::guarded(std::string_view what, Call&& call) {
  try {
    call();
  } catch (const std::exception& e) {
    log_.error("cluster_handler_failed", {{"handler", what}, {"what", e.what()}});
  }
}

namespace {
Result<std::int64_t> time_of(const RedisReply& time) {
  if (time.elements.size() != 2) return fail(Errc::unavailable, "redis: bad TIME reply");
  std::int64_t seconds = 0;
  std::int64_t micros = 0;
  const auto& s = time.elements[0].text;
  const auto& u = time.elements[1].text;
  if (std::from_chars(s.data(), s.data() + s.size(), seconds).ec != std::errc() ||
      std::from_chars(u.data(), u.data() + u.size(), micros).ec != std::errc()) {
    return fail(Errc::unavailable, "redis: bad TIME reply");
  }
  return seconds * 1000 + micros / 1000;
}
}  // namespace

Result<std::int64_t> RedisCluster::redis_now(RedisConnection& connection) const {
  auto time = connection.command({"TIME"});
  if (!time) return time.error();
  return time_of(*time);
}

void RedisCluster::start() {
  receiver_ = std::thread([this] { receive_loop(); });
  writer_ = std::thread([this] { write_loop(); });
}

bool RedisCluster::wait_healthy(std::chrono::milliseconds deadline) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, deadline, [this] { return receiver_up_ && writer_up_; });
}

RedisClusterStats RedisCluster::stats() const {
  return {published_.load(), received_.load(), dropped_.load(), reconnects_.load(), healthy()};
}

std::int64_t RedisCluster::now_ms() const {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string RedisCluster::presence_key(const std::string& room) const {
  return options_.key_prefix + "presence:" + room;
}
std::string RedisCluster::rooms_key(const std::string& node) const {
  return options_.key_prefix + "node-rooms:" + node;
}
std::string RedisCluster::field(const std::string& connection_id) const {
  return options_.node_id + "|" + connection_id;
}

Result<RedisConnection> RedisCluster::connect() const {
  return RedisConnection::open(options_.endpoint, options_.timeout);
}

bool RedisCluster::healthy() const {
  std::lock_guard lock(mutex_);
  return receiver_up_ && writer_up_;
}

void RedisCluster::set_state(bool receiver, bool up) {
  bool lost = false;
  bool back = false;
  {
    std::lock_guard lock(mutex_);
    (receiver ? receiver_up_ : writer_up_) = up;
    if (receiver && !up && writer_up_) {
      // Whatever cut the receiver off most likely cut the writer off too, which would only
      // notice at its next command: have it reconnect (and restore this process's state)
      // before the process calls itself healthy again.
      writer_up_ = false;
      reconnect_writer_ = true;
    }
    const bool now_up = receiver_up_ && writer_up_;
    // Stopping closes the connections on purpose: not a loss worth an error.
    lost = was_up_ && !now_up && !stopping_;
    back = !was_up_ && now_up;
    was_up_ = now_up;
    if (!writer_up_) {
      // Nothing queued can reach Redis now; what matters is restored from the mirror later.
      dropped_ += queue_.size();
      queue_.clear();
    }
  }
  changed_.notify_all();
  if (lost) {
    log_.error("redis_lost", {{"node", options_.node_id},
                              {"error", "cross-process delivery is off; serving local clients"}});
  }
  if (back) {
    const auto count = reconnects_++;
    log_.info(count == 0 ? "redis_connected" : "redis_recovered", {{"node", options_.node_id}});
  }
}

// --- the bus -------------------------------------------------------------------------------------

void RedisCluster::subscribe(std::string topic, Handler handler) {
  handlers_[options_.key_prefix + "bus:" + topic] = std::move(handler);
}

void RedisCluster::publish(std::string_view topic, std::string payload) {
  // The sender's name first: a process ignores its own messages (it delivered them already).
  std::string envelope;
  envelope.reserve(options_.node_id.size() + 1 + payload.size());
  envelope += options_.node_id;
  envelope += '\n';
  envelope += payload;
  queue({"PUBLISH", options_.key_prefix + "bus:" + std::string(topic), std::move(envelope)});
}

void RedisCluster::queue(Command command) {
  {
    std::lock_guard lock(mutex_);
    if (!writer_up_ || stopping_ || queue_.size() >= options_.max_queued) {
      ++dropped_;
      return;
    }
    queue_.push_back(std::move(command));
  }
  changed_.notify_all();
}

void RedisCluster::receive_loop() {
  auto backoff = std::chrono::milliseconds(100);
  const auto stopping = [this] {
    std::lock_guard lock(mutex_);
    return stopping_;
  };
  while (!stopping()) {
    auto connection = connect();
    bool subscribed = connection.has_value();
    if (subscribed) {
      // With no handler, a channel nobody publishes on: the connection still tells whether
      // Redis is reachable.
      const std::string idle_channel = options_.key_prefix + "bus:";
      std::vector<std::string_view> command{"SUBSCRIBE"};
      for (const auto& [channel, handler] : handlers_) command.push_back(channel);
      if (handlers_.empty()) command.push_back(idle_channel);
      subscribed = connection->append(command).has_value();
      // One confirmation per channel.
      for (std::size_t i = 1; subscribed && i < command.size(); ++i) {
        auto reply = connection->read_reply();
        subscribed = reply && reply->type == RedisReply::Type::array;
      }
    }
    if (!subscribed) {
      set_state(true, false);
      std::unique_lock lock(mutex_);
      changed_.wait_for(lock, backoff, [this] { return stopping_; });
      backoff = std::min(backoff * 2, kMaxBackoff);
      continue;
    }
    backoff = std::chrono::milliseconds(100);
    set_state(true, true);
    auto last_heard = std::chrono::steady_clock::now();
    // (A plain flag and time: g++ 12 -O2 warns about an optional here.)
    bool ping_outstanding = false;
    auto ping_sent = last_heard;
    while (!stopping()) {
      auto message = connection->poll(kReceivePoll);
      if (!message) break;
      const auto now = std::chrono::steady_clock::now();
      if (*message) {
        last_heard = now;
        const auto& reply = **message;
        if (reply.type == RedisReply::Type::array && reply.elements.size() == 3 &&
            reply.elements[0].text == "message") {
          const auto& envelope = reply.elements[2].text;
          const auto newline = envelope.find('\n');
          if (newline == std::string::npos) continue;
          if (std::string_view(envelope).substr(0, newline) == options_.node_id) continue;
          ++received_;
          if (auto it = handlers_.find(reply.elements[1].text); it != handlers_.end()) {
            guarded("bus", [&] { it->second(std::string_view(envelope).substr(newline + 1)); });
          }
        } else if (reply.type == RedisReply::Type::array && !reply.elements.empty() &&
                   reply.elements[0].text == "pong") {
          ping_outstanding = false;
        }
        continue;
      }
      // Quiet: a half-open connection would stay quiet forever, so ask.
      if (ping_outstanding) {
        if (now - ping_sent > options_.timeout) break;
      } else if (now - last_heard > options_.heartbeat) {
        if (!connection->append({"PING"})) break;
        ping_outstanding = true;
        ping_sent = now;
      }
    }
    set_state(true, false);
  }
}

// --- the writer ----------------------------------------------------------------------------------

bool RedisCluster::forget_stale(RedisConnection& connection) {
  auto rooms = connection.command({"SMEMBERS", rooms_key(options_.node_id)});
  if (!rooms) return false;
  const std::string prefix = options_.node_id + "|";
  for (const auto& room : rooms->elements) {
    const std::string key = presence_key(room.text);
    auto entries = connection.command({"HGETALL", key});
    if (!entries) return false;
    std::vector<std::string_view> hdel{"HDEL", key};
    {
      std::lock_guard lock(mutex_);
      const auto mine = mirror_.find(room.text);
      for (std::size_t i = 0; i + 1 < entries->elements.size(); i += 2) {
        const std::string_view name = entries->elements[i].text;
        if (!name.starts_with(prefix)) continue;
        const std::string id(name.substr(prefix.size()));
        if (mine == mirror_.end() || mine->second.count(id) == 0) hdel.push_back(name);
      }
    }
    if (hdel.size() > 2 && !connection.command(hdel)) return false;
  }
  return true;
}

std::vector<RedisCluster::Command> RedisCluster::restore_commands(std::int64_t now) const {
  std::vector<Command> out;
  out.push_back({"ZADD", options_.key_prefix + "nodes", std::to_string(now), options_.node_id});
  for (const auto& [room, members] : mirror_) {
    if (members.empty()) continue;
    Command hset{"HSET", presence_key(room)};
    for (const auto& [connection, member] : members) {
      hset.push_back(field(connection));
      hset.push_back(member);
    }
    out.push_back(std::move(hset));
    out.push_back({"SADD", rooms_key(options_.node_id), room});
  }
  return out;
}

bool RedisCluster::send_batch(RedisConnection& connection, const std::vector<Command>& batch) {
  for (const auto& command : batch) {
    std::vector<std::string_view> args(command.begin(), command.end());
    if (!connection.append(args)) return false;
  }
  for (const auto& command : batch) {
    auto reply = connection.read_reply();
    if (!reply) return false;
    if (command.front() == "PUBLISH") ++published_;
    if (reply->type == RedisReply::Type::error) {
      log_.warning("redis_command_refused", {{"command", command.front()}, {"error", reply->text}});
    }
  }
  return true;
}

bool RedisCluster::heartbeat(RedisConnection& connection) {
  auto clock = redis_now(connection);
  if (!clock) return false;
  const auto now = *clock;
  const std::string nodes = options_.key_prefix + "nodes";
  auto beat = connection.command({"ZADD", nodes, std::to_string(now), options_.node_id});
  if (!beat) return false;
  if (beat->integer == 1) {
    // This process had been taken for dead (paused past the expiry) and its presence cleared:
    // write it again.
    log_.warning("cluster_node_rejoined", {{"node", options_.node_id}});
    std::vector<Command> restore;
    {
      std::lock_guard lock(mutex_);
      restore = restore_commands(now);
    }
    if (!send_batch(connection, restore)) return false;
  }
  auto dead = connection.command(
      {"ZRANGEBYSCORE", nodes, "-inf", std::to_string(now - options_.node_expiry.count())});
  if (!dead) return false;
  for (const auto& node : dead->elements) {
    if (node.text == options_.node_id) continue;
    // Whoever removes the node cleans up after it: exactly one process does.
    auto removed = connection.command({"ZREM", nodes, node.text});
    if (!removed) return false;
    if (removed->integer != 1) continue;
    auto rooms = connection.command({"SMEMBERS", rooms_key(node.text)});
    if (!rooms) return false;
    std::size_t cleared = 0;
    for (const auto& room : rooms->elements) {
      auto entries = connection.command({"HGETALL", presence_key(room.text)});
      if (!entries) return false;
      const std::string prefix = node.text + "|";
      for (std::size_t i = 0; i + 1 < entries->elements.size(); i += 2) {
        const auto& name = entries->elements[i].text;
        if (!name.starts_with(prefix)) continue;
        auto gone = connection.command({"HDEL", presence_key(room.text), name});
        if (!gone) return false;
        if (gone->integer == 1 && lost_) {
          ++cleared;
          guarded("lost", [&] { lost_(room.text, entries->elements[i + 1].text); });
        }
      }
    }
    if (!connection.command({"DEL", rooms_key(node.text)})) return false;
    log_.warning("cluster_node_lost", {{"node", node.text}, {"connections_cleared", cleared}});
  }
  return true;
}

void RedisCluster::write_loop() {
  std::optional<RedisConnection> connection;
  auto backoff = std::chrono::milliseconds(100);
  auto next_beat = std::chrono::steady_clock::now();
  for (;;) {
    std::vector<Command> batch;
    bool stop = false;
    {
      std::unique_lock lock(mutex_);
      if (connection) {
        changed_.wait_until(lock, next_beat,
                            [this] { return stopping_ || reconnect_writer_ || !queue_.empty(); });
      }
      if (reconnect_writer_) {
        reconnect_writer_ = false;
        connection.reset();
      }
      stop = stopping_;
      while (connection && !queue_.empty() && batch.size() < kBatch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      if (stop && !connection) break;
    }
    if (!connection) {
      auto opened = connect();
      std::vector<Command> restore;
      // Entries this process no longer has go first (they left while Redis was away, or an
      // earlier process with this node id left them), on Redis's clock.
      Result<std::int64_t> clock = fail(Errc::unavailable, "redis: not connected");
      if (opened && forget_stale(*opened)) clock = redis_now(*opened);
      if (!clock) opened = clock.error();
      if (opened) {
        std::lock_guard lock(mutex_);
        // Snapshot and state change together: later changes queue behind the snapshot.
        restore = restore_commands(*clock);
        writer_up_ = true;
      }
      if (!opened || !send_batch(*opened, restore)) {
        set_state(false, false);
        std::unique_lock lock(mutex_);
        if (stopping_) break;
        changed_.wait_for(lock, backoff, [this] { return stopping_; });
        backoff = std::min(backoff * 2, kMaxBackoff);
        continue;
      }
      backoff = std::chrono::milliseconds(100);
      connection = std::move(*opened);
      set_state(false, true);
      next_beat = std::chrono::steady_clock::now() + options_.heartbeat;
      continue;
    }
    if (!batch.empty() && !send_batch(*connection, batch)) {
      dropped_ += batch.size();
      connection.reset();
      set_state(false, false);
      continue;
    }
    if (stop) {
      bool drained = false;
      {
        std::lock_guard lock(mutex_);
        drained = queue_.empty();
      }
      if (!drained) continue;
      // Goodbye: the others need not wait for this process's heartbeat to expire.
      std::vector<Command> goodbye;
      {
        std::lock_guard lock(mutex_);
        for (const auto& [room, members] : mirror_) {
          Command hdel{"HDEL", presence_key(room)};
          for (const auto& [id, member] : members) hdel.push_back(field(id));
          if (hdel.size() > 2) goodbye.push_back(std::move(hdel));
        }
      }
      goodbye.push_back({"DEL", rooms_key(options_.node_id)});
      goodbye.push_back({"ZREM", options_.key_prefix + "nodes", options_.node_id});
      send_batch(*connection, goodbye);
      break;
    }
    if (std::chrono::steady_clock::now() >= next_beat) {
      if (!heartbeat(*connection)) {
        connection.reset();
        set_state(false, false);
        continue;
      }
      next_beat = std::chrono::steady_clock::now() + options_.heartbeat;
    }
  }
}

// --- presence ------------------------------------------------------------------------------------

void RedisCluster::enter(const std::string& room, const std::string& connection_id,
                         std::string member) {
  {
    std::lock_guard lock(mutex_);
    mirror_[room][connection_id] = member;
  }
  queue({"HSET", presence_key(room), field(connection_id), std::move(member)});
  queue({"SADD", rooms_key(options_.node_id), room});
}

void RedisCluster::leave(const std::string& room, const std::string& connection_id) {
  {
    std::lock_guard lock(mutex_);
    auto it = mirror_.find(room);
    if (it == mirror_.end() || it->second.erase(connection_id) == 0) return;
    if (it->second.empty()) mirror_.erase(it);
  }
  queue({"HDEL", presence_key(room), field(connection_id)});
}

Result<std::vector<std::string>> RedisCluster::members(const std::string& room) {
  if (!healthy()) return fail(Errc::unavailable, "redis: unavailable");
  std::lock_guard lock(reader_mutex_);
  // A kept connection may have died since its last use (Redis restarted): one fresh attempt.
  const bool kept = reader_.has_value();
  auto answer = read_members(room);
  if (!answer && kept) answer = read_members(room);
  return answer;
}

Result<std::vector<std::string>> RedisCluster::read_members(const std::string& room) {
  const auto now = now_ms();
  bool fresh = false;
  if (!reader_) {
    // A failed connection is not retried on every call: callers fall back to local presence.
    if (now < reader_retry_at_) return fail(Errc::unavailable, "redis: unavailable");
    auto opened = connect();
    if (!opened) {
      reader_retry_at_ = now + 1000;
      return opened.error();
    }
    reader_ = std::move(*opened);
    fresh = true;
  }
  auto failed = [&](const Error& error) -> Result<std::vector<std::string>> {
    reader_.reset();
    if (fresh) reader_retry_at_ = now + 1000;
    return error;
  };
  // Heartbeats are on Redis's clock: compare them with it, not with this host's.
  const std::string key = presence_key(room);
  const std::string nodes_key = options_.key_prefix + "nodes";
  for (const auto& command :
       {std::vector<std::string_view>{"TIME"}, std::vector<std::string_view>{"HGETALL", key},
        std::vector<std::string_view>{"ZRANGE", nodes_key, "0", "-1", "WITHSCORES"}}) {
    if (auto queued = reader_->append(command); !queued) return failed(queued.error());
  }
  auto time = reader_->read_reply();
  if (!time) return failed(time.error());
  auto entries = reader_->read_reply();
  if (!entries) return failed(entries.error());
  auto nodes = reader_->read_reply();
  if (!nodes) return failed(nodes.error());
  auto redis_ms = time_of(*time);
  if (!redis_ms) return failed(redis_ms.error());
  std::set<std::string, std::less<>> alive;
  for (std::size_t i = 0; i + 1 < nodes->elements.size(); i += 2) {
    const double beat = std::strtod(nodes->elements[i + 1].text.c_str(), nullptr);
    if (beat >= static_cast<double>(*redis_ms - options_.node_expiry.count())) {
      alive.insert(nodes->elements[i].text);
    }
  }
  std::vector<std::string> out;
  for (std::size_t i = 0; i + 1 < entries->elements.size(); i += 2) {
    const std::string_view name = entries->elements[i].text;
    if (alive.count(name.substr(0, name.find('|'))) == 0) continue;
    out.push_back(entries->elements[i + 1].text);
  }
  return out;
}

void RedisCluster::on_lost(LostHandler handler) { lost_ = std::move(handler); }

}  // namespace parley::cluster
