#include "support/test_server.hpp"

#include <stdexcept>

namespace parley::testing {

void MemoryLogSink::write_line(std::string_view line) {
  std::lock_guard lock(mutex_);
  lines_.emplace_back(line);
}

std::vector<std::string> MemoryLogSink::lines() const {
  std::lock_guard lock(mutex_);
  return lines_;
}

TestServer::TestServer(DatabaseKind kind, std::map<std::string, std::string> env)
    : database_(kind) {
  std::map<std::string, std::string> vars{
      {"DATABASE_URL", database_.url()},
      {"UPLOAD_DIR", (database_.folder() / "uploads").string()},
      {"PARLEY_WEB_DIR", (database_.folder() / "web").string()},
      {"PARLEY_BIND", "127.0.0.1"},
      {"PARLEY_PORT", "0"},
      {"PARLEY_THREADS", "2"},
      {"PARLEY_WORKERS", "2"},
      {"JWT_SECRET_KEY", kJwtSecret},
      {"BACKEND_URL", kBackendUrl},
      {"PARLEY_BCRYPT_COST", "4"},
      {"PARLEY_LOGIN_PER_MINUTE", "100000"},
      {"PARLEY_REGISTER_PER_HOUR", "100000"},
      {"PARLEY_GUESTS_PER_HOUR", "100000"},
      {"LOG_LEVEL", "DEBUG"},
  };
  for (auto& [k, v] : env) vars[k] = v;
  auto config = core::load_config(core::Environment(vars));
  if (!config) throw std::runtime_error("test config: " + config.error().message);
  log_ = std::make_unique<core::Logger>(sink_, config->log_level);
  auto app = app::ServerApp::create(std::move(*config), *log_, {.handle_signals = false});
  if (!app) throw std::runtime_error("test server: " + app.error().message);
  app_ = std::move(*app);
  port_ = app_->endpoint().port();
  thread_ = std::thread([this] { app_->run(); });
}

TestServer::~TestServer() {
  app_->request_shutdown();
  thread_.join();
}

}  // namespace parley::testing
