#pragma once
// A real Parley server (the composition root, real sockets, a real database) running inside the
// test process on a free port, for API tests through HTTP.

#include <map>
#include <memory>
#include <string>
#include <thread>

#include "app/server_app.hpp"
#include "core/log.hpp"
#include "support/test_database.hpp"

namespace parley::testing {

/// Collects log lines (thread-safe) so tests can assert what was logged, or not.
class MemoryLogSink final : public core::LogSink {
 public:
  void write_line(std::string_view line) override;
  std::vector<std::string> lines() const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
};

class TestServer {
 public:
  /// Starts with test-friendly defaults (bcrypt cost 4, generous rate limits, a fixed
  /// JWT_SECRET_KEY = kJwtSecret) overridden by `env`. Throws if the server cannot start.
  explicit TestServer(DatabaseKind kind = DatabaseKind::sqlite,
                      std::map<std::string, std::string> env = {});
  ~TestServer();

  std::uint16_t port() const { return port_; }
  const std::string& database_url() const { return database_.url(); }
  const std::filesystem::path& folder() const { return database_.folder(); }
  const app::ServerApp& app() const { return *app_; }
  MemoryLogSink& logs() { return sink_; }

  static constexpr const char* kJwtSecret = "test-jwt-secret-0123456789abcdef0123456789";
  static constexpr const char* kBackendUrl = "http://parley.test";

 private:
  TestDatabase database_;
  MemoryLogSink sink_;
  std::unique_ptr<core::Logger> log_;
  std::unique_ptr<app::ServerApp> app_;
  std::thread thread_;
  std::uint16_t port_ = 0;
};

}  // namespace parley::testing
