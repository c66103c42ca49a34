#pragma once
// What the processes of one deployment share beyond the database: a message bus between them
// (room broadcasts, application notices) and a directory of who is in which room. One process
// alone needs neither (nullptr everywhere); with REDIS_URL set, cluster/ provides both.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace parley::core {

/// Fan-out to the other processes. Thread-safe.
class ClusterBus {
 public:
  virtual ~ClusterBus() = default;
  /// Runs on the bus's receiving thread for every message another process published on
  /// `topic`; it must be quick (hand heavy work to a worker). Subscribe before start.
  using Handler = std::function<void(std::string_view payload)>;
  virtual void subscribe(std::string topic, Handler handler) = 0;
  /// Queues `payload` for every other process and returns at once: the caller never waits for
  /// the network. While the bus is down messages are dropped (counted, logged): each process
  /// still delivers to its own clients.
  virtual void publish(std::string_view topic, std::string payload) = 0;
  /// Connected and subscribed (readiness).
  virtual bool healthy() const = 0;
};

/// Who is in which room, across processes. Thread-safe.
class PresenceDirectory {
 public:
  virtual ~PresenceDirectory() = default;
  /// `member` is what others see of this connection (JSON text). Never blocks.
  virtual void enter(const std::string& room, const std::string& connection_id,
                     std::string member) = 0;
  virtual void leave(const std::string& room, const std::string& connection_id) = 0;
  /// The members of `room` on every live process (JSON texts). Blocks up to a short deadline;
  /// errors: unavailable (the directory cannot be reached).
  virtual Result<std::vector<std::string>> members(const std::string& room) = 0;
  /// Runs (on one process only) for each connection of a process that vanished without saying
  /// goodbye (killed, lost its network): its rooms' others should hear that it left.
  using LostHandler = std::function<void(const std::string& room, const std::string& member)>;
  virtual void on_lost(LostHandler handler) = 0;
};

}  // namespace parley::core
