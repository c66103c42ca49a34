#pragma once
// A real HTTP/1.1 server on 127.0.0.1:<ephemeral port>, run on its own thread, so that the curl
// client is tested over real sockets. One connection at a time, "Connection: close".

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace parley::testing {

struct RecordedRequest {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  /// First header called `name` (case-insensitive), or "".
  std::string header(std::string_view name) const;
};

struct CannedResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  /// Wait this long before answering (a slow upstream).
  std::chrono::milliseconds delay{0};
  /// Send the body with chunked transfer coding, i.e. without Content-Length.
  bool chunked = false;
};

class LocalHttpServer {
 public:
  using Handler = std::function<CannedResponse(const RecordedRequest&)>;

  /// Starts listening at once; `handler` runs on the server thread.
  explicit LocalHttpServer(Handler handler);
  ~LocalHttpServer();
  LocalHttpServer(const LocalHttpServer&) = delete;
  LocalHttpServer& operator=(const LocalHttpServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url(std::string_view target) const;

 private:
  Handler handler_;
  std::atomic<bool> stopping_{false};
  std::uint16_t port_ = 0;
  std::thread thread_;
};

/// A port on 127.0.0.1 on which nothing listens (bound, then closed).
std::uint16_t unused_port();

}  // namespace parley::testing
