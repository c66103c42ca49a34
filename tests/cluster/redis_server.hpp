#pragma once
// A real redis-server on 127.0.0.1 for the length of a test (no persistence), which a test can
// stop and start again on the same port to play a Redis outage.

#include <sys/types.h>

#include <string>

namespace parley::testing {

class RedisServer {
 public:
  RedisServer();  ///< picks a free port and starts the server (ADD_FAILURE if it cannot)
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  void start();
  void stop();  ///< SIGKILL: no goodbye, like a crash or a lost network
  int port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_) + "/0"; }

 private:
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace parley::testing
