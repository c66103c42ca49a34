#include "app/server_app.hpp"

#include <boost/asio/signal_set.hpp>
#include <filesystem>
#include <thread>
#include <vector>

#include "api/health.hpp"
#include "api/misc.hpp"
#include "app/version.hpp"
#include "store/migrations/migrator.hpp"

namespace parley::app {

namespace asio = boost::asio;

namespace {

// The original server's upload layout (uploads/avatars, uploads/chatroom_audio, ...).
constexpr const char* kUploadFolders[] = {"avatars", "chatroom_audio", "chatroom_photo",
                                          "clonedTranslatedVoice", "voice_clone_reference"};

Result<std::unique_ptr<store::Database>> open_store(const core::Config& config) {
  store::DatabaseOptions options;
  options.pool_size = config.db_pool_size;
  return store::open_database(config.database_url, options);
}

}  // namespace

Result<void> run_migrations(const core::Config& config, core::Logger& log) {
  auto database = open_store(config);
  if (!database) return database.error();
  auto report = store::migrate(**database);
  if (!report) return report.error();
  log.info("migrations_applied", {{"applied", report->applied.size()},
                                  {"version", report->to_version}});
  return {};
}

ServerApp::ServerApp(core::Config config, core::Logger& log, ServeOptions options)
    : config_(std::move(config)), log_(log), options_(options), io_(static_cast<int>(config_.threads)) {}

ServerApp::~ServerApp() {
  // Blocking work may still reference the database: finish it before the database closes.
  if (workers_) workers_->stop();
}

Result<std::unique_ptr<ServerApp>> ServerApp::create(core::Config config, core::Logger& log,
                                                     ServeOptions options) {
  std::unique_ptr<ServerApp> app(new ServerApp(std::move(config), log, options));
  const auto& cfg = app->config_;

  auto database = open_store(cfg);
  if (!database) return database.error();
  app->database_ = std::move(*database);
  if (cfg.mode == core::RunMode::development) {
    auto report = store::migrate(*app->database_);
    if (!report) return report.error();
    if (!report->applied.empty()) {
      log.info("migrations_applied", {{"applied", report->applied.size()},
                                      {"version", report->to_version}});
    }
  } else {
    auto pending = store::pending_migrations(*app->database_);
    if (!pending) return pending.error();
    if (!pending->empty()) {
      return fail(Errc::unavailable, "the database schema is behind this build (" +
                                         std::to_string(pending->size()) +
                                         " pending migrations): run `parley migrate` first");
    }
  }

  std::error_code fs_error;
  for (const char* folder : kUploadFolders) {
    std::filesystem::create_directories(std::filesystem::path(cfg.upload_dir) / folder, fs_error);
    if (fs_error) {
      return fail(Errc::unavailable, "UPLOAD_DIR " + cfg.upload_dir +
                                         " is not writable: " + fs_error.message());
    }
  }

  app->workers_ = std::make_unique<core::WorkerPool>(cfg.worker_threads, cfg.worker_queue);
  app->cors_ = std::make_unique<net::CorsPolicy>(cfg.cors_origins);
  app->static_files_ = std::make_unique<net::StaticFiles>(cfg.web_dir);

  api::add_health_routes(app->router_, {*app->database_, *app->workers_});
  api::add_misc_routes(app->router_, cfg);

  net::ServerOptions server_options;
  server_options.max_header_bytes = cfg.max_header_bytes;
  server_options.max_body_bytes = cfg.max_body_bytes;
  server_options.read_timeout = cfg.read_timeout;
  server_options.idle_timeout = cfg.idle_timeout;
  server_options.request_timeout = cfg.request_timeout;
  server_options.strict_transport_security = cfg.backend_url.starts_with("https://");
  app->http_ = std::make_unique<net::HttpServer>(app->io_, server_options, app->router_,
                                                 *app->cors_, app->static_files_.get(), log);
  auto endpoint = app->http_->listen(asio::ip::make_address(cfg.bind_address), cfg.port);
  if (!endpoint) return endpoint.error();
  app->endpoint_ = *endpoint;
  return app;
}

void ServerApp::request_shutdown() {
  http_->shutdown(config_.shutdown_timeout, [this] {
    log_.info("server_stopped", {});
    io_.stop();
  });
}

void ServerApp::run() {
  http_->start();
  std::unique_ptr<asio::signal_set> signals;
  if (options_.handle_signals) {
    signals = std::make_unique<asio::signal_set>(io_, SIGINT, SIGTERM);
    signals->async_wait([this](const boost::system::error_code& ec, int signal) {
      if (ec) return;
      log_.info("shutdown_requested", {{"signal", signal == SIGINT ? "SIGINT" : "SIGTERM"},
                                       {"connections", http_->connection_count()}});
      request_shutdown();
    });
  }
  log_.info("server_listening", {{"address", endpoint_.address().to_string()},
                                 {"port", endpoint_.port()},
                                 {"version", kVersion},
                                 {"threads", config_.threads}});
  std::vector<std::jthread> threads;
  for (unsigned i = 1; i < config_.threads; ++i) threads.emplace_back([this] { io_.run(); });
  io_.run();
  for (auto& t : threads) t.join();
}

}  // namespace parley::app
