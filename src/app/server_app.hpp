#pragma once
// The composition root: the only place that turns configuration into concrete backends
// (SQLite or PostgreSQL, ...), wires services to routes and owns every long-lived object.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "api/account_routes.hpp"
#include "api/admin_log_routes.hpp"
#include "api/billing_routes.hpp"
#include "api/chatroom_routes.hpp"
#include "api/glossary_routes.hpp"
#include "api/google_routes.hpp"
#include "api/metrics_routes.hpp"
#include "api/speech_routes.hpp"
#include "api/translation_routes.hpp"
#include "auth/accounts.hpp"
#include "auth/oauth_state_store.hpp"
#include "auth/oidc/oidc_client.hpp"
#include "billing/billing_service.hpp"
#include "billing/plan_quotas.hpp"
#include "chat/chatroom_service.hpp"
#include "cluster/redis_cluster.hpp"
#include "cluster/redis_rate_limiter.hpp"
#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/quotas.hpp"
#include "core/rate_limiter.hpp"
#include "core/worker_pool.hpp"
#include "corrections/language_corrections.hpp"
#include "events/chat_events.hpp"
#include "events/service_level_monitor.hpp"
#include "events/speaker_languages.hpp"
#include "events/speech_events.hpp"
#include "events/translation_events.hpp"
#include "metrics/engine_metrics.hpp"
#include "metrics/http_metrics.hpp"
#include "metrics/registry.hpp"
#include "metrics/sampler.hpp"
#include "net/cors.hpp"
#include "net/http_server.hpp"
#include "net/router.hpp"
#include "net/static_files.hpp"
#include "outbound/http_client.hpp"
#include "realtime/conformance/conformance.hpp"
#include "realtime/engineio/server.hpp"
#include "realtime/socketio/server.hpp"
#include "store/database.hpp"
#include "store/debug_log/debug_log_writer.hpp"

namespace parley::app {

struct ServeOptions {
  bool handle_signals = true;  ///< SIGINT/SIGTERM start a graceful shutdown
};

class ServerApp {
 public:
  /// Opens the database, applies pending migrations in development (in production a pending
  /// migration is an error telling the operator to run `parley migrate`), prepares the upload
  /// folders, registers every route and binds the listener. Errors are start-up failures with a
  /// one-line message.
  static Result<std::unique_ptr<ServerApp>> create(core::Config config, core::Logger& log,
                                                   ServeOptions options = {});
  ~ServerApp();

  boost::asio::ip::tcp::endpoint endpoint() const { return endpoint_; }
  const net::Router& router() const { return router_; }

  /// Serves on config.threads threads (the caller's included) until a graceful shutdown has
  /// drained every connection. Returns normally after SIGTERM/SIGINT or request_shutdown().
  void run();

  /// Thread-safe: starts the graceful shutdown that SIGTERM starts.
  void request_shutdown();

 private:
  ServerApp(core::Config config, core::Logger& log, ServeOptions options);
  void start_maintenance();
  /// Builds the speech engines from the configuration, the audio routes and the live streams.
  Result<void> start_speech();
  /// Builds the translation engines, their routes, the queue and the per-listener delivery, and
  /// starts the queue's workers (delivering first what a crash left undelivered).
  Result<void> start_translation();
  /// The service-level monitor over speech and translation (after both started).
  void start_service_level();
  /// Registers the metrics of the process, pool, queue and Socket.IO, the /metrics and admin
  /// routes, and the HTTP observer; call after every other route is registered.
  void add_metrics();
  void add_service_level_metrics();

  core::Config config_;
  core::Logger& log_;
  ServeOptions options_;
  boost::asio::io_context io_;
  std::unique_ptr<store::Database> database_;
  // PARLEY_DEBUG_LOG_LEVEL: log records also go to the debug_log table. Declared right after the
  // database so that it is destroyed last but for it: the other members' shutdown lines are
  // still written, then the attachment ends and the writer flushes before the database closes.
  std::unique_ptr<store::DebugLogWriter> debug_log_;
  core::Logger::Attachment debug_log_attachment_;
  std::unique_ptr<core::WorkerPool> workers_;
  core::SystemClock clock_;
  // Metrics: declared before everything they observe (engine decorators, HTTP server), so
  // they are destroyed after it. See add_metrics() in server_app.cpp.
  std::unique_ptr<metrics::Registry> metrics_;
  std::unique_ptr<metrics::EngineMetrics> engine_metrics_;
  std::unique_ptr<metrics::HttpMetrics> http_metrics_;
  std::unique_ptr<metrics::MetricsSampler> metrics_sampler_;
  std::unique_ptr<boost::asio::steady_timer> metrics_timer_;
  std::unique_ptr<api::MetricsRoutesDeps> metrics_routes_;
  /// Limits that span processes (logins, sign-ups): in Redis with REDIS_URL, else in memory.
  std::unique_ptr<core::RateLimiter> limiter_;
  /// Limits of one connection (typing indicators): always this process's.
  std::unique_ptr<core::InMemoryRateLimiter> local_limiter_;
  // Payments (when STRIPE_SECRET_KEY is set): the billing state and daily counters behind the
  // quotas every feature consults.
  std::unique_ptr<billing::BillingStore> billing_store_;
  std::unique_ptr<billing::UsageMeter> usage_meter_;
  billing::PlanQuotas* plan_quotas_ = nullptr;  // owned by quotas_ when payments are on
  std::unique_ptr<core::Quotas> quotas_;
  std::unique_ptr<auth::PasswordHasher> hasher_;
  std::unique_ptr<auth::PasswordPolicy> policy_;
  std::unique_ptr<auth::AccessTokens> tokens_;
  std::unique_ptr<auth::UserStore> users_;
  std::unique_ptr<auth::SessionCache> session_cache_;
  std::unique_ptr<auth::SessionStore> sessions_;
  std::unique_ptr<auth::AccountService> accounts_;
  std::unique_ptr<api::AccountRoutesDeps> account_routes_;
  std::unique_ptr<api::AdminLogRoutesDeps> admin_log_routes_;
  std::unique_ptr<outbound::HttpClient> http_client_;
  std::unique_ptr<auth::OAuthStateStore> oauth_states_;
  std::unique_ptr<auth::oidc::OidcClient> google_;
  std::unique_ptr<api::GoogleRoutesDeps> google_routes_;
  std::unique_ptr<billing::StripeClient> stripe_;
  std::unique_ptr<billing::BillingService> billing_;
  std::unique_ptr<api::BillingRoutesDeps> billing_routes_;
  // Chat rooms, REST half (the real-time layer sets its observer on chatrooms_).
  std::unique_ptr<chat::ChatroomService> chatrooms_;
  // Rooms near a place and search in a room's history (both over chatrooms_ and database_).
  std::unique_ptr<discovery::NearbyRooms> nearby_rooms_;
  std::unique_ptr<discovery::HistorySearch> history_search_;
  std::unique_ptr<api::ChatroomRoutesDeps> chatroom_routes_;
  // Real time: Engine.IO transports, Socket.IO on top, Parley's chat events as the application.
  std::unique_ptr<events::ChatEvents> chat_events_;
  std::unique_ptr<realtime::SocketIoServer> socketio_;
  std::unique_ptr<realtime::EngineIoServer> engineio_;
  // Protocol-conformance mode only: the test suites' application and the bare Engine.IO echo.
  std::unique_ptr<realtime::ConformanceApplication> conformance_app_;
  std::unique_ptr<realtime::EngineIoEcho> engineio_echo_;
  std::unique_ptr<realtime::EngineIoServer> engineio_only_;
  // Speech: engines, voice references, the audio routes and the live streams. The streams are
  // declared last so they stop first: their results go to speech_events_ and the database.
  std::unique_ptr<speech::tts::ElevenLabsClient> elevenlabs_;
  std::unique_ptr<speech::SpeechEngines> speech_engines_;
  std::unique_ptr<speech::VoiceProfileStore> voices_;
  // What each speaker speaks now (declared languages, trackers): used by speech and translation.
  std::unique_ptr<events::SpeakerLanguages> speaker_languages_;
  std::unique_ptr<api::SpeechRoutesDeps> speech_routes_;
  // Caption lag and the level of service (issue 11): read by the events declared after them.
  std::unique_ptr<service_level::CaptionLag> caption_lag_;
  std::unique_ptr<service_level::LevelController> service_level_;
  std::unique_ptr<events::SpeechEvents> speech_events_;
  std::unique_ptr<speech::SpeechStreams> speech_streams_;
  // Translation: engines and their routes, the durable queue, the cache, the stored
  // translations, the per-listener delivery, and the translator whose workers use them all
  // (declared last: stopped and destroyed first).
  std::unique_ptr<translate::TranslationEngines> translation_engines_;
  std::unique_ptr<api::TranslationRoutesDeps> translation_routes_;
  std::unique_ptr<translate::TranslationQueue> translation_queue_;
  std::unique_ptr<translate::TranslationCache> translation_cache_;
  std::unique_ptr<translate::MessageTranslations> message_translations_;
  std::unique_ptr<transcript::RoomTranscripts> room_transcripts_;  // reads the two above
  // Rooms' glossaries (issue 11): read by the translator's workers and by speech synthesis.
  std::unique_ptr<glossary::GlossaryStore> glossaries_;
  std::unique_ptr<api::GlossaryRoutesDeps> glossary_routes_;
  std::unique_ptr<events::TranslationEvents> translation_events_;
  std::unique_ptr<translate::MessageTranslator> message_translator_;
  // Uses the translator and tells translation_events_; used by the routes and the events.
  std::unique_ptr<corrections::LanguageCorrections> language_corrections_;
  // Moves the level of service on its timer (uses the speech events and the translator).
  std::unique_ptr<events::ServiceLevelMonitor> service_monitor_;
  std::unique_ptr<boost::asio::steady_timer> service_level_timer_;
  std::unique_ptr<boost::asio::steady_timer> maintenance_timer_;
  // SQLite only: indexes stored messages for history search in batches (HistorySearch).
  std::unique_ptr<boost::asio::steady_timer> search_index_timer_;
  net::Router router_;
  std::unique_ptr<net::CorsPolicy> cors_;
  std::unique_ptr<net::StaticFiles> static_files_;
  std::unique_ptr<net::HttpServer> http_;
  boost::asio::ip::tcp::endpoint endpoint_;
  // Several processes (REDIS_URL): declared last so that its threads, which call into the
  // Socket.IO server and the events above, stop first.
  std::unique_ptr<cluster::RedisCluster> cluster_;
};

/// ElevenLabs settings from the configuration (ELEVENLABS_* variables); the key may be empty.
speech::tts::ElevenLabsOptions elevenlabs_options(const core::Config& config);

/// `parley migrate`: applies pending migrations and reports what it did.
Result<void> run_migrations(const core::Config& config, core::Logger& log);

}  // namespace parley::app
