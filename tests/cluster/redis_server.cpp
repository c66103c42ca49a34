#include "redis_server.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "core/child_process.hpp"

namespace parley::testing {

namespace {

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  ::close(fd);
  return port;
}

bool answers(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  if (ok) {
    const char ping[] = "PING\r\n";
    char reply[16] = {};
    ok = ::write(fd, ping, sizeof ping - 1) == sizeof ping - 1 && ::read(fd, reply, 7) > 0 &&
         std::string(reply).starts_with("+PONG");
  }
  ::close(fd);
  return ok;
}

}  // namespace

RedisServer::RedisServer() : port_(free_port()) { start(); }

RedisServer::~RedisServer() { stop(); }

void RedisServer::start() {
  core::SpawnOptions options;
  options.argv = {"/usr/bin/redis-server",
                  "--port",
                  std::to_string(port_),
                  "--bind",
                  "127.0.0.1",
                  "--save",
                  "",
                  "--appendonly",
                  "no",
                  "--dir",
                  "/tmp",
                  "--logfile",
                  "/dev/null"};
  options.what = "redis-server";
  auto child = core::spawn_child(options);
  ASSERT_TRUE(child) << child.error().message << " (apt-get install redis-server)";
  pid_ = child->pid;
  core::close_fd(child->in_fd);
  core::close_fd(child->out_fd);
  for (int i = 0; i < 200; ++i) {
    if (answers(port_)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  ADD_FAILURE() << "redis-server did not answer on port " << port_;
}

void RedisServer::stop() {
  if (pid_ <= 0) return;
  core::kill_and_reap(pid_);
  pid_ = -1;
}

}  // namespace parley::testing
