#include "app/server_app.hpp"

#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <filesystem>
#include <thread>
#include <tuple>
#include <vector>

#include "api/health.hpp"
#include "api/misc.hpp"
#include "api/openapi.hpp"
#include "app/translation_setup.hpp"
#include "app/version.hpp"
#include "metrics/process_metrics.hpp"
#include "metrics/queue_metrics.hpp"
#include "outbound/curl_http_client.hpp"
#include "speech/stt/openai_recognizer.hpp"
#include "speech/stt/pocketsphinx_recognizer.hpp"
#include "speech/tts/elevenlabs_synthesizer.hpp"
#include "speech/tts/espeak_synthesizer.hpp"
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

// Migrations rewrite and index whole tables: on a large database a step may take minutes, so
// they run on their own connection without the per-statement deadline of requests.
Result<store::MigrationReport> migrate_without_deadline(const core::Config& config) {
  store::DatabaseOptions options;
  options.pool_size = 1;
  options.statement_timeout = std::chrono::milliseconds{0};
  auto database = store::open_database(config.database_url, options);
  if (!database) return database.error();
  return store::migrate(**database);
}

}  // namespace

Result<void> run_migrations(const core::Config& config, core::Logger& log) {
  auto report = migrate_without_deadline(config);
  if (!report) return report.error();
  log.info("migrations_applied",
           {{"applied", report->applied.size()}, {"version", report->to_version}});
  return {};
}

ServerApp::ServerApp(core::Config config, core::Logger& log, ServeOptions options)
    : config_(std::move(config)),
      log_(log),
      options_(options),
      io_(static_cast<int>(config_.threads)) {}

ServerApp::~ServerApp() {
  // Messages from other processes call into the events and the worker pool: stop receiving them
  // first (this also flushes what this process still had to publish and says goodbye). The
  // object stays until the members go: late publishes from workers are dropped, not crashes.
  if (cluster_) cluster_->stop();
  // Speech streams and translation workers deliver results to the database and the sockets:
  // stop them first. Translation jobs in flight stay leased and run again after a restart.
  speech_streams_.reset();
  if (message_translator_) message_translator_->stop();
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
  // Development databases are small (and may be in memory, one per handle): migrate on the pool.
  // `parley migrate`, the production path, runs without a statement deadline.
  if (cfg.mode == core::RunMode::development) {
    auto report = store::migrate(*app->database_);
    if (!report) return report.error();
    if (!report->applied.empty()) {
      log.info("migrations_applied",
               {{"applied", report->applied.size()}, {"version", report->to_version}});
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

  if (cfg.debug_log_level) {
    store::DebugLogWriterOptions debug_log;
    debug_log.retention = cfg.debug_log_retention;
    // Its own clock: the writer outlives clock_ (see the member order).
    static const core::SystemClock debug_log_clock;
    app->debug_log_ =
        std::make_unique<store::DebugLogWriter>(*app->database_, debug_log_clock, log, debug_log);
    app->debug_log_attachment_ = log.attach(*app->debug_log_, *cfg.debug_log_level);
  }

  std::error_code fs_error;
  for (const char* folder : kUploadFolders) {
    std::filesystem::create_directories(std::filesystem::path(cfg.upload_dir) / folder, fs_error);
    if (fs_error) {
      return fail(Errc::unavailable,
                  "UPLOAD_DIR " + cfg.upload_dir + " is not writable: " + fs_error.message());
    }
  }

  app->workers_ = std::make_unique<core::WorkerPool>(cfg.worker_threads, cfg.worker_queue);
  app->metrics_ = std::make_unique<metrics::Registry>();
  app->engine_metrics_ = std::make_unique<metrics::EngineMetrics>(*app->metrics_);
  app->cors_ = std::make_unique<net::CorsPolicy>(
      cfg.protocol_conformance ? net::CorsPolicy::any_origin() : net::CorsPolicy(cfg.cors_origins));
  app->static_files_ = std::make_unique<net::StaticFiles>(cfg.web_dir);

  // Accounts: hashing, tokens, sessions and the service over them.
  app->local_limiter_ = std::make_unique<core::InMemoryRateLimiter>(app->clock_);
  std::optional<cluster::RedisEndpoint> redis;
  if (cfg.redis_url) {
    auto endpoint = cluster::parse_redis_url(*cfg.redis_url);
    if (!endpoint) return endpoint.error();
    redis = *endpoint;
    app->limiter_ =
        std::make_unique<cluster::RedisRateLimiter>(*redis, cfg.redis_timeout, app->clock_, log);
    cluster::RedisClusterOptions cluster_options;
    cluster_options.endpoint = *redis;
    cluster_options.node_id = cfg.node_id;
    cluster_options.timeout = cfg.redis_timeout;
    app->cluster_ = std::make_unique<cluster::RedisCluster>(std::move(cluster_options), log);
    if (cfg.backend_url.starts_with("http://localhost:")) {
      // Access tokens name BACKEND_URL as their issuer: processes with different ones refuse
      // each other's tokens.
      log.warning("backend_url_not_set",
                  {{"detail", "set BACKEND_URL to the same public URL on every process"}});
    }
  } else {
    app->limiter_ = std::make_unique<core::InMemoryRateLimiter>(app->clock_);
  }
  // What plans allow: with payments configured, each user's plan; otherwise nobody could buy
  // more, so nothing is limited.
  if (!cfg.stripe_secret_key.empty()) {
    app->billing_store_ = std::make_unique<billing::BillingStore>(*app->database_, app->clock_);
    app->usage_meter_ = std::make_unique<billing::UsageMeter>(*app->database_, app->clock_);
    auto plans = std::make_unique<billing::PlanQuotas>(
        *app->billing_store_, *app->usage_meter_, app->clock_, billing::plans_from_config(cfg));
    app->plan_quotas_ = plans.get();
    app->quotas_ = std::move(plans);
  } else {
    app->quotas_ = std::make_unique<core::UnlimitedQuotas>();
  }
  auth::PasswordHasherOptions hasher_options;
  hasher_options.cost = cfg.bcrypt_cost;
  hasher_options.pepper = cfg.password_pepper;
  hasher_options.legacy_long_password_mode = cfg.bcrypt_legacy_long_passwords;
  app->hasher_ = std::make_unique<auth::PasswordHasher>(
      cfg.bcrypt_cost < auth::PasswordHasher::kMinCost
          ? auth::PasswordHasher::insecure_for_tests(hasher_options)
          : auth::PasswordHasher(hasher_options));
  app->policy_ = std::make_unique<auth::PasswordPolicy>();
  auth::AccessTokenOptions token_options;
  token_options.issuer = cfg.backend_url;
  token_options.audience = "parley";
  token_options.lifetime = cfg.access_token_ttl;
  app->tokens_ = std::make_unique<auth::AccessTokens>(
      auth::AccessKeySet::from_secrets(cfg.jwt_secret_key), token_options, app->clock_);
  app->users_ = std::make_unique<auth::UserStore>(*app->database_, app->clock_);
  app->sessions_ = std::make_unique<auth::SessionStore>(
      *app->database_, app->clock_, cfg.refresh_token_ttl, cfg.refresh_token_ttl);
  app->session_cache_ = std::make_unique<auth::SessionCache>(
      app->clock_, std::chrono::duration_cast<std::chrono::milliseconds>(cfg.session_cache_ttl));
  {
    // Sessions ended on one process are forgotten on every other at once.
    std::function<void(std::string)> announce;
    if (app->cluster_) {
      auto* bus = app->cluster_.get();
      bus->subscribe("sessions", [cache = app->session_cache_.get()](std::string_view message) {
        cache->apply(message);
      });
      announce = [bus](std::string message) { bus->publish("sessions", std::move(message)); };
    }
    app->sessions_->use_cache(*app->session_cache_, std::move(announce));
  }
  auth::AccountSettings account_settings;
  account_settings.session_lifetime = cfg.refresh_token_ttl;
  account_settings.refresh_lifetime = cfg.refresh_token_ttl;
  account_settings.guest_idle_lifetime = cfg.guest_idle_ttl;
  account_settings.limits.login_per_ip = {cfg.login_per_minute, std::chrono::minutes(1),
                                          std::max(1u, cfg.login_per_minute / 2)};
  account_settings.limits.register_per_ip = {cfg.register_per_hour, std::chrono::hours(1),
                                             std::max(1u, cfg.register_per_hour / 2)};
  account_settings.limits.guest_per_ip = {cfg.guests_per_hour, std::chrono::hours(1),
                                          std::max(1u, cfg.guests_per_hour / 2)};
  app->accounts_ = std::make_unique<auth::AccountService>(
      *app->users_, *app->sessions_, *app->hasher_, *app->policy_, *app->tokens_, *app->limiter_,
      app->clock_, account_settings);
  app->account_routes_ = std::make_unique<api::AccountRoutesDeps>(api::AccountRoutesDeps{
      *app->accounts_, *app->workers_, *app->database_, log, cfg.backend_url,
      std::filesystem::path(cfg.upload_dir) / "avatars", cfg.max_avatar_bytes});

  // Google sign-in, when configured. The discovery URL decides the provider: Google's own, or
  // any OpenID provider (its issuer is the discovery URL without the well-known suffix).
  app->http_client_ = std::make_unique<outbound::CurlHttpClient>();
  app->oauth_states_ = std::make_unique<auth::OAuthStateStore>(*app->database_, app->clock_);
  if (!cfg.google_client_id.empty()) {
    const std::string redirect_uri = cfg.backend_url + "/api/auth/google/callback";
    auto settings = auth::oidc::OidcSettings::google(cfg.google_client_id, cfg.google_client_secret,
                                                     redirect_uri);
    constexpr std::string_view kWellKnown = "/.well-known/openid-configuration";
    if (cfg.google_discovery_url != settings.discovery_url) {
      settings.discovery_url = cfg.google_discovery_url;
      std::string issuer = cfg.google_discovery_url;
      if (issuer.ends_with(kWellKnown)) issuer.resize(issuer.size() - kWellKnown.size());
      settings.allowed_issuers = {issuer};
    }
    try {
      app->google_ = std::make_unique<auth::oidc::OidcClient>(*app->http_client_, app->clock_,
                                                              std::move(settings));
    } catch (const std::invalid_argument& e) {
      return fail(Errc::validation_failed, std::string("GOOGLE_DISCOVERY_URL: ") + e.what());
    }
  }
  app->google_routes_ = std::make_unique<api::GoogleRoutesDeps>(api::GoogleRoutesDeps{
      app->google_.get(), *app->oauth_states_, *app->accounts_, *app->workers_, log, *app->limiter_,
      core::RateLimit{30, std::chrono::minutes(1), 15}, cfg.frontend_url,
      cfg.backend_url.starts_with("https://")});

  api::add_health_routes(app->router_, {*app->database_, *app->workers_, app->cluster_.get()});
  api::add_misc_routes(app->router_, cfg);
  api::add_checkout_return_routes(app->router_);
  api::add_openapi_route(app->router_);
  api::add_account_routes(app->router_, *app->account_routes_);
  api::add_google_routes(app->router_, *app->google_routes_);
  if (app->plan_quotas_ != nullptr) {
    billing::StripeOptions stripe;
    stripe.base_url = cfg.stripe_api_base;
    stripe.secret_key = cfg.stripe_secret_key;
    app->stripe_ = std::make_unique<billing::StripeClient>(*app->http_client_, stripe);
    billing::BillingSettings settings;
    settings.frontend_url = cfg.frontend_url;
    settings.webhook_secrets = cfg.stripe_webhook_secrets;
    app->billing_ = std::make_unique<billing::BillingService>(
        *app->stripe_, *app->billing_store_, *app->plan_quotas_, *app->usage_meter_, *app->users_,
        app->clock_, log, std::move(settings));
  }
  app->billing_routes_ = std::make_unique<api::BillingRoutesDeps>(
      api::BillingRoutesDeps{*app->account_routes_, app->billing_.get(), *app->workers_, log});
  api::add_billing_routes(app->router_, *app->billing_routes_);
  // Chat rooms, REST half. Photos share the avatar size limit.
  app->chatrooms_ =
      std::make_unique<chat::ChatroomService>(*app->database_, *app->hasher_, app->clock_);
  app->chatrooms_->set_quotas(app->quotas_.get());
  app->chatroom_routes_ = std::make_unique<api::ChatroomRoutesDeps>(api::ChatroomRoutesDeps{
      *app->account_routes_, *app->chatrooms_, *app->workers_, log, cfg.backend_url,
      std::filesystem::path(cfg.upload_dir) / "chatroom_photo", cfg.max_avatar_bytes});
  app->nearby_rooms_ = std::make_unique<discovery::NearbyRooms>(*app->database_, *app->chatrooms_);
  app->history_search_ =
      std::make_unique<discovery::HistorySearch>(*app->database_, *app->chatrooms_);
  app->chatroom_routes_->nearby = app->nearby_rooms_.get();
  app->chatroom_routes_->history_search = app->history_search_.get();
  api::add_chatroom_routes(app->router_, *app->chatroom_routes_);
  app->admin_log_routes_ = std::make_unique<api::AdminLogRoutesDeps>(api::AdminLogRoutesDeps{
      *app->account_routes_, cfg.admin_emails, *app->database_, *app->workers_, log});
  api::add_admin_log_routes(app->router_, *app->admin_log_routes_);

  app->chat_events_ = std::make_unique<events::ChatEvents>(
      events::ChatEventsDeps{*app->accounts_, *app->chatrooms_, *app->workers_,
                             *app->local_limiter_, log, cfg.backend_url});
  realtime::SocketIoOptions socketio_options;
  socketio_options.connect_timeout = cfg.socket_connect_timeout;
  socketio_options.event_rate = {cfg.socket_events_per_second, std::chrono::seconds(1),
                                 2 * cfg.socket_events_per_second};
  realtime::EngineIoOptions engineio_options;
  engineio_options.max_buffered_bytes = cfg.socket_max_buffered_bytes;
  engineio_options.ping_interval = cfg.ping_interval;
  engineio_options.ping_timeout = cfg.ping_timeout;
  engineio_options.permessage_deflate = cfg.websocket_compression;
  engineio_options.single_threaded = cfg.threads == 1;
  realtime::SocketApplication* application = app->chat_events_.get();
  if (cfg.protocol_conformance) {
    // The settings the socket.io project's protocol test suites are written against.
    socketio_options.connect_timeout = std::chrono::milliseconds(1000);
    socketio_options.recovery_window = std::chrono::milliseconds(0);
    engineio_options.ping_interval = std::chrono::milliseconds(300);
    engineio_options.ping_timeout = std::chrono::milliseconds(200);
    engineio_options.max_payload = 1'000'000;
    app->conformance_app_ = std::make_unique<realtime::ConformanceApplication>();
    application = app->conformance_app_.get();
    app->engineio_echo_ = std::make_unique<realtime::EngineIoEcho>();
    app->engineio_only_ = std::make_unique<realtime::EngineIoServer>(
        app->io_, engineio_options, *app->engineio_echo_, log,
        [](std::string_view, std::string_view) { return true; });
    app->engineio_only_->add_routes(app->router_, "/engine.io/");
    log.warning("protocol_conformance_mode",
                {{"detail", "Socket.IO serves the protocol test suites, not Parley's chat"}});
  }
  app->socketio_ =
      std::make_unique<realtime::SocketIoServer>(app->io_, socketio_options, *application, log);
  app->chat_events_->attach(*app->socketio_);
  if (auto speech = app->start_speech(); !speech) return speech.error();
  if (auto translation = app->start_translation(); !translation) return translation.error();
  app->start_service_level();
  app->chatrooms_->set_observer(app->chat_events_.get());
  if (app->cluster_) {
    app->socketio_->attach_bus(*app->cluster_);
    app->chat_events_->attach_cluster(*app->cluster_, *app->cluster_);
    app->cluster_->start();
    // Not waited for: a process starts while Redis is down and joins when it answers
    // (/readyz says not ready until then).
    if (!app->cluster_->wait_healthy(std::chrono::seconds(2))) {
      log.error("redis_unavailable_at_start", {{"node", cfg.node_id}});
    }
  }
  app->engineio_ = std::make_unique<realtime::EngineIoServer>(
      app->io_, engineio_options, *app->socketio_, log,
      [cors = app->cors_.get()](std::string_view origin, std::string_view host) {
        return cors->allows_session(origin, host);
      });
  app->engineio_->add_routes(app->router_);
  app->add_metrics();
  // Ending a user's sessions (password change, account deletion) ends their live sockets too.
  app->account_routes_->on_sessions_ended = [events = app->chat_events_.get()](
                                                std::int64_t user_id, const std::string& reason) {
    events->disconnect_user(user_id, reason);
  };

  net::ServerOptions server_options;
  server_options.max_header_bytes = cfg.max_header_bytes;
  server_options.max_body_bytes = cfg.max_body_bytes;
  server_options.read_timeout = cfg.read_timeout;
  server_options.idle_timeout = cfg.idle_timeout;
  server_options.request_timeout = cfg.request_timeout;
  server_options.strict_transport_security = cfg.backend_url.starts_with("https://");
  server_options.single_threaded = cfg.threads == 1;
  server_options.observer = app->http_metrics_.get();
  app->http_ = std::make_unique<net::HttpServer>(app->io_, server_options, app->router_,
                                                 *app->cors_, app->static_files_.get(), log);
  auto endpoint = app->http_->listen(asio::ip::make_address(cfg.bind_address), cfg.port);
  if (!endpoint) return endpoint.error();
  app->endpoint_ = *endpoint;
  return app;
}

namespace {

// The sandboxed decoder ships next to the parley binary; a build tree also knows where it built
// it. PARLEY_AUDIO_DECODER overrides both.
std::string audio_decoder_path(const core::Config& cfg) {
  if (!cfg.audio_decoder_path.empty()) return cfg.audio_decoder_path;
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const auto sibling = self.parent_path() / "parley-audio-decoder";
    if (std::filesystem::exists(sibling, ec)) return sibling.string();
  }
  return PARLEY_AUDIO_DECODER_BUILT;
}

speech::EnginePolicy policy_of(std::string_view setting, std::string_view embedded_name) {
  if (setting == "auto") return speech::EnginePolicy::automatic;
  return setting == embedded_name ? speech::EnginePolicy::embedded_only
                                  : speech::EnginePolicy::cloud_only;
}

}  // namespace

speech::tts::ElevenLabsOptions elevenlabs_options(const core::Config& cfg) {
  speech::tts::ElevenLabsOptions options;
  options.base_url = cfg.elevenlabs_base_url;
  options.api_key = cfg.elevenlabs_api_key;
  options.model_id = cfg.elevenlabs_model_id;
  options.default_voice_id = cfg.elevenlabs_voice_id;
  return options;
}

Result<void> ServerApp::start_speech() {
  const auto& cfg = config_;
  namespace stt = speech::stt;
  namespace tts = speech::tts;
  stt::PocketsphinxOptions sphinx;
  sphinx.model_dir = cfg.pocketsphinx_model_dir;
  // One decoder per live stream plus two for uploads; each is created on first use (~94 MB).
  sphinx.max_decoders = cfg.max_speech_streams + 2;
  auto embedded_stt = std::make_unique<stt::PocketsphinxRecognizer>(sphinx);
  std::unique_ptr<stt::SpeechRecognizer> cloud_stt;
  if (!cfg.openai_api_key.empty()) {
    stt::OpenAiOptions openai;
    openai.base_url = cfg.openai_base_url;
    openai.api_key = cfg.openai_api_key;
    openai.model = cfg.openai_transcription_model;
    cloud_stt = std::make_unique<stt::OpenAiRecognizer>(*http_client_, openai);
  }
  std::unique_ptr<tts::SpeechSynthesizer> embedded_tts;
  if (auto espeak = tts::EspeakSynthesizer::create(); espeak) {
    embedded_tts = std::move(*espeak);
  } else {
    // espeak-ng keeps process-wide state, so only one server per process can own it.
    log_.warning("tts_embedded_unavailable", {{"error", espeak.error().message}});
  }
  std::unique_ptr<tts::SpeechSynthesizer> cloud_tts;
  if (!cfg.elevenlabs_api_key.empty()) {
    elevenlabs_ = std::make_unique<tts::ElevenLabsClient>(*http_client_, elevenlabs_options(cfg));
    cloud_tts = std::make_unique<tts::ElevenLabsSynthesizer>(*elevenlabs_);
  }
  // Each engine behind a metrics decorator (latency, errors, volume).
  auto& instrumented = *engine_metrics_;
  speech_engines_ = std::make_unique<speech::SpeechEngines>(
      instrumented.instrument(std::move(embedded_stt)),
      instrumented.instrument(std::move(cloud_stt)), policy_of(cfg.stt_engine, "pocketsphinx"),
      instrumented.instrument(std::move(embedded_tts)),
      instrumented.instrument(std::move(cloud_tts)), policy_of(cfg.tts_engine, "espeak-ng"));
  voices_ = std::make_unique<speech::VoiceProfileStore>(*database_, clock_);

  speech::audio::SandboxOptions decoder;
  decoder.decoder_path = audio_decoder_path(cfg);
  decoder.limits.max_duration = cfg.max_audio_duration;
  if (!std::filesystem::exists(decoder.decoder_path)) {
    return fail(Errc::unavailable, "the audio decoder " + decoder.decoder_path +
                                       " does not exist; set PARLEY_AUDIO_DECODER to its path");
  }
  const std::filesystem::path uploads(cfg.upload_dir);
  speech_routes_ = std::make_unique<api::SpeechRoutesDeps>(api::SpeechRoutesDeps{
      *account_routes_, *chatrooms_, *speech_engines_, *voices_, elevenlabs_.get(), *workers_, log_,
      cfg.backend_url, decoder, uploads / "chatroom_audio", uploads / "voice_clone_reference",
      cfg.max_upload_bytes});
  speech_routes_->quotas = quotas_.get();
  api::add_speech_routes(router_, *speech_routes_);
  // Deleting an account removes the voice reference kept for it and ends its subscription.
  account_routes_->prepare_account_removal = [routes = speech_routes_.get(),
                                              billing = billing_.get()](std::int64_t user_id) {
    auto voice = api::prepare_voice_removal(*routes, user_id);
    std::function<void()> subscription;
    if (billing != nullptr) subscription = billing->prepare_account_removal(user_id);
    return std::function<void()>(
        [voice = std::move(voice), subscription = std::move(subscription)] {
          if (voice) voice();
          if (subscription) subscription();
        });
  };

  events::SpeechEventsDeps speech_deps{*accounts_,
                                       *chatrooms_,
                                       *workers_,
                                       log_,
                                       cfg.backend_url,
                                       uploads / "chatroom_audio",
                                       *speech_engines_,
                                       *voices_,
                                       uploads / "clonedTranslatedVoice"};
  speech_deps.quotas = quotas_.get();
  caption_lag_ = std::make_unique<service_level::CaptionLag>();
  service_level_ = std::make_unique<service_level::LevelController>(
      service_level::ControllerOptions{cfg.degrade_after, cfg.recover_after});
  speech_deps.caption_lag = caption_lag_.get();
  speech_deps.service_level = service_level_.get();
  speaker_languages_ = std::make_unique<events::SpeakerLanguages>(*chatrooms_);
  chat_events_->attach_speakers(*speaker_languages_);
  speech_deps.speakers = speaker_languages_.get();
  speech_events_ = std::make_unique<events::SpeechEvents>(std::move(speech_deps));
  speech::SpeechStreamOptions streams;
  streams.threads = cfg.speech_threads;
  streams.max_streams = cfg.max_speech_streams;
  streams.max_streams_per_user = cfg.max_speech_streams_per_user;
  streams.max_duration = cfg.max_stream_duration;
  streams.idle_timeout = cfg.stream_idle_timeout;
  streams.max_backlog = cfg.max_stream_backlog;
  streams.decoder = decoder;
  streams.decoder.limits.max_duration = cfg.max_stream_duration;
  streams.decoder.cpu_limit = cfg.max_stream_duration;
  streams.decoder.deadline = cfg.max_stream_duration + std::chrono::seconds(60);
  speech_streams_ =
      std::make_unique<speech::SpeechStreams>(streams, *speech_engines_, *speech_events_);
  speech_events_->attach(*socketio_, *speech_streams_);
  chat_events_->attach_speech(*speech_events_);
  return {};
}

Result<void> ServerApp::start_translation() {
  const auto& cfg = config_;
  translation_engines_ = make_translation_engines(cfg, *http_client_);
  translation_engines_->decorate([metrics = engine_metrics_.get()](translate::Translator& engine) {
    return metrics->instrument(engine);
  });
  log_.info("translation_engines",
            {{"apertium_pairs", translation_engines_->embedded_pairs().size()},
             {"openai", translation_engines_->cloud() != nullptr},
             {"policy", cfg.translation_engine}});
  translation_queue_ = std::make_unique<translate::TranslationQueue>(
      *database_, clock_, translation_queue_options(cfg));
  translate::TranslationCacheOptions cache;
  cache.memory_entries = cfg.translation_cache_entries;
  translation_cache_ = std::make_unique<translate::TranslationCache>(*database_, clock_, cache);
  message_translations_ = std::make_unique<translate::MessageTranslations>(*database_, clock_);
  chatroom_routes_->translations = message_translations_.get();
  room_transcripts_ =
      std::make_unique<transcript::RoomTranscripts>(*chatrooms_, *message_translations_, clock_);
  chatroom_routes_->transcripts = room_transcripts_.get();
  glossaries_ = std::make_unique<glossary::GlossaryStore>(*database_, *chatrooms_, clock_);
  if (auto loaded = glossaries_->load_all(); !loaded) return loaded.error();
  glossary_routes_ = std::make_unique<api::GlossaryRoutesDeps>(
      api::GlossaryRoutesDeps{*account_routes_, *glossaries_, *workers_, log_});
  api::add_glossary_routes(router_, *glossary_routes_);
  speech_events_->attach_glossary(*glossaries_);
  translate::MessageTranslatorOptions translator;
  translator.glossary = glossaries_.get();
  translator.threads = cfg.translation_threads;
  translator.lease = cfg.translation_lease;
  translator.worker_name = "parley-" + std::to_string(::getpid());
  translator.logger = &log_;
  translator.quotas = quotas_.get();
  message_translator_ = std::make_unique<translate::MessageTranslator>(
      *translation_engines_, *translation_queue_, *translation_cache_, *message_translations_,
      translator);
  translation_routes_ = std::make_unique<api::TranslationRoutesDeps>(api::TranslationRoutesDeps{
      *account_routes_, *translation_engines_, *message_translator_, *workers_, log_});
  api::add_translation_routes(router_, *translation_routes_);
  events::TranslationEventsDeps translation_deps{
      *chatrooms_, *workers_, log_, cfg.backend_url, *message_translator_, *speaker_languages_};
  translation_deps.caption_lag = caption_lag_.get();
  translation_events_ = std::make_unique<events::TranslationEvents>(std::move(translation_deps));
  translation_events_->attach(*socketio_, speech_events_.get());
  speech_events_->set_language_lookup(
      [events = translation_events_.get()](const std::string& socket_id, std::int64_t room_id) {
        return events->language_of(socket_id, room_id);
      });
  if (cluster_) translation_events_->attach_bus(*cluster_);
  chat_events_->attach_translations(*translation_events_);
  account_routes_->on_language_changed = [events = chat_events_.get()](std::int64_t user_id) {
    events->languages_changed(user_id);
  };
  language_corrections_ =
      std::make_unique<corrections::LanguageCorrections>(corrections::LanguageCorrectionsDeps{
          *chatrooms_, *message_translator_, speech_engines_.get(),
          speech_routes_ ? speech_routes_->decoder : speech::audio::SandboxOptions{},
          std::filesystem::path(cfg.upload_dir) / "chatroom_audio", quotas_.get()});
  language_corrections_->set_sink(*translation_events_);
  translation_events_->attach_corrections(*language_corrections_);
  chatroom_routes_->corrections = language_corrections_.get();
  if (auto started = message_translator_->start(*translation_events_); !started) {
    return started.error();
  }
  if (auto stats = translation_queue_->stats(); stats) {
    log_.info("translation_queue", {{"queued", stats->queued},
                                    {"running", stats->running},
                                    {"dead", stats->dead},
                                    {"threads", cfg.translation_threads}});
  }
  return {};
}

void ServerApp::start_service_level() {
  service_monitor_ = std::make_unique<events::ServiceLevelMonitor>(events::ServiceLevelMonitorDeps{
      *caption_lag_, *service_level_, *socketio_, log_, config_.caption_lag_target,
      std::max(2 * config_.degrade_after, std::chrono::milliseconds(10000)), speech_events_.get(),
      speech_streams_.get(), message_translator_.get()});
  chat_events_->attach_service_level(*service_level_);
  chatroom_routes_->live = [monitor = service_monitor_.get()](std::int64_t room_id) {
    return monitor->room_status(room_id);
  };
}

void ServerApp::request_shutdown() {
  if (service_level_timer_) {
    asio::post(service_level_timer_->get_executor(), [this] { service_level_timer_->cancel(); });
  }
  if (maintenance_timer_) {
    asio::post(maintenance_timer_->get_executor(), [this] { maintenance_timer_->cancel(); });
  }
  if (search_index_timer_) {
    asio::post(search_index_timer_->get_executor(), [this] { search_index_timer_->cancel(); });
  }
  if (metrics_timer_) {
    asio::post(metrics_timer_->get_executor(), [this] { metrics_timer_->cancel(); });
  }
  // Long polls and WebSockets end now instead of holding the drain until their next ping.
  if (engineio_) engineio_->close_all();
  if (engineio_only_) engineio_only_->close_all();
  http_->shutdown(config_.shutdown_timeout, [this] {
    log_.info("server_stopped", {});
    io_.stop();
  });
}

namespace {

// Hourly housekeeping on the worker pool: idle guests and ended sessions are deleted.
asio::awaitable<void> maintenance_loop(asio::steady_timer& timer, core::WorkerPool& workers,
                                       auth::AccountService& accounts, auth::SessionStore& sessions,
                                       std::filesystem::path avatar_folder, core::Logger& log) {
  for (;;) {
    auto job = [&accounts, &sessions, avatar_folder]() -> Result<std::size_t> {
      auto avatars = accounts.remove_idle_guests();
      if (!avatars) return avatars.error();
      for (const auto& name : *avatars) {
        std::error_code ec;
        std::filesystem::remove(avatar_folder / name, ec);
      }
      if (auto purged = sessions.purge_expired(); !purged) return purged.error();
      return avatars->size();
    };
    auto removed = co_await workers.run(std::move(job));
    if (!removed) {
      log.warning("maintenance_failed", {{"error", removed.error().message}});
    } else if (*removed > 0) {
      log.info("idle_guests_removed", {{"count", *removed}});
    }
    timer.expires_after(std::chrono::hours(1));
    auto [ec] = co_await timer.async_wait(net::use_nothrow);
    if (ec) co_return;  // cancelled: shutting down
  }
}

// On the worker pool: messages stored since the last round are indexed for history search, a
// few hundred per transaction. Every 100 ms while messages come, so that each round is short
// (a long one holds a worker and the write lock, and the senders behind it wait); every second
// when none came. A search indexes what still waits itself, so this only keeps that work small.
asio::awaitable<void> search_index_loop(asio::steady_timer& timer, core::WorkerPool& workers,
                                        discovery::HistorySearch& search, core::Logger& log) {
  bool busy = false;
  for (;;) {
    timer.expires_after(busy ? std::chrono::milliseconds(100) : std::chrono::milliseconds(1000));
    auto [ec] = co_await timer.async_wait(net::use_nothrow);
    if (ec) co_return;  // cancelled: shutting down
    auto job = [&search] { return search.index_all_waiting(); };
    auto indexed = co_await workers.run(std::move(job));
    if (!indexed) log.warning("search_index_failed", {{"error", indexed.error().message}});
    busy = indexed && *indexed > 0;
  }
}

}  // namespace

void ServerApp::start_maintenance() {
  // The timer lives on its own strand: the loop and the cancel at shutdown never race.
  maintenance_timer_ = std::make_unique<asio::steady_timer>(asio::make_strand(io_));
  asio::co_spawn(maintenance_timer_->get_executor(),
                 maintenance_loop(*maintenance_timer_, *workers_, *accounts_, *sessions_,
                                  std::filesystem::path(config_.upload_dir) / "avatars", log_),
                 asio::detached);
  if (database_->dialect() == store::Dialect::sqlite) {
    search_index_timer_ = std::make_unique<asio::steady_timer>(asio::make_strand(io_));
    asio::co_spawn(search_index_timer_->get_executor(),
                   search_index_loop(*search_index_timer_, *workers_, *history_search_, log_),
                   asio::detached);
  }
}

void ServerApp::add_metrics() {
  auto& registry = *metrics_;
  metrics::register_process_metrics(registry);
  registry.callback_gauge(
      "parley_db_pool_connections", "Database connections the pool may hold.",
      [db = database_.get()] { return static_cast<double>(db->pool_stats().size); });
  registry.callback_gauge(
      "parley_db_pool_in_use", "Database connections leased now.",
      [db = database_.get()] { return static_cast<double>(db->pool_stats().in_use); });
  registry.callback_gauge(
      "parley_worker_pool_pending", "Jobs queued or running on the worker pool.",
      [workers = workers_.get()] { return static_cast<double>(workers->pending()); });
  registry.callback_gauge(
      "parley_worker_pool_capacity", "Jobs the worker pool accepts at once (PARLEY_WORKER_QUEUE).",
      [workers = workers_.get()] { return static_cast<double>(workers->capacity()); });
  const auto* socketio = socketio_.get();
  registry.callback_gauge(
      "parley_socketio_connections", "Connected Socket.IO sockets.",
      [socketio] { return static_cast<double>(socketio->stats().connections); });
  registry.callback_gauge("parley_socketio_rooms", "Rooms with a member on this process.",
                          [socketio] { return static_cast<double>(socketio->stats().rooms); });
  registry.callback_counter(
      "parley_socketio_events_received_total", "Socket.IO events received from clients.",
      [socketio] { return static_cast<double>(socketio->stats().events_received); });
  registry.callback_counter(
      "parley_socketio_events_sent_total",
      "Socket.IO packets queued to clients (a broadcast counts once per recipient).",
      [socketio] { return static_cast<double>(socketio->stats().events_sent); });
  if (translation_queue_) {
    metrics::register_queue_metrics(registry, *translation_queue_, *database_, clock_);
  }
  if (service_monitor_) add_service_level_metrics();

  metrics_routes_ = std::make_unique<api::MetricsRoutesDeps>(
      api::MetricsRoutesDeps{*account_routes_, registry, *workers_, *database_, log_, clock_,
                             config_.metrics_token, config_.admin_emails});
  metrics_routes_->live = [socketio, engines = engine_metrics_.get()] {
    return api::LiveUsage{socketio->stats().connections, engines->audio_seconds_total(),
                          engines->translated_characters_total()};
  };
  api::add_metrics_routes(router_, *metrics_routes_);
  // Last: the observer prepares one slot per route registered so far.
  http_metrics_ = std::make_unique<metrics::HttpMetrics>(registry, router_);

  metrics::SamplerOptions sampler;
  sampler.interval = config_.metrics_sample_interval;
  sampler.retention = config_.metrics_retention;
  sampler.series = metrics::default_sampled_series();
  sampler.node = config_.node_id;
  metrics_sampler_ =
      std::make_unique<metrics::MetricsSampler>(registry, *database_, clock_, std::move(sampler));
}

void ServerApp::add_service_level_metrics() {
  auto& registry = *metrics_;
  registry.callback_gauge(
      "parley_service_level",
      "This process's level of service: 0 full, 1 neutral_voice, 2 captions, 3 original_text.",
      [level = service_level_.get()] { return static_cast<double>(level->level()); });
  auto& changes =
      registry.counter_family("parley_service_level_changes_total",
                              "Changes of the level of service, by the level reached.", {"level"});
  service_monitor_->on_change([&changes](const service_level::LevelChange& change) {
    changes.with({service_level::to_string(change.to)}).inc();
  });
  static constexpr double kLagBuckets[] = {0.25, 0.5, 0.75, 1,   1.5, 2,  2.5,
                                           3,    4,   5,    7.5, 10,  20, 60};
  auto& lag = registry.histogram_family(
      "parley_caption_lag_seconds",
      "Time from the end of an utterance to its caption reaching the listeners of a language.",
      {"language"}, kLagBuckets);
  caption_lag_->on_sample([&lag](const std::string& language, std::chrono::milliseconds value) {
    lag.with({language}).observe(static_cast<double>(value.count()) / 1000.0);
  });
  for (const auto& [name, pct] : {std::pair{"parley_caption_lag_p50_seconds", 50},
                                  std::pair{"parley_caption_lag_p95_seconds", 95}}) {
    registry.callback(
        name,
        std::string("Caption lag ") + (pct == 50 ? "median" : "95th percentile") +
            " per room and listening language, over the rooms captioned in the window.",
        metrics::Type::gauge, {"room", "language"}, [lag = caption_lag_.get(), pct = pct] {
          // The rooms with the latest captions first, at most kMaxLagSeries of them: the
          // number of series stays bounded however many rooms talk.
          constexpr std::size_t kMaxLagSeries = 100;
          auto all = lag->all();
          std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
            return a.lag.p95_ms != b.lag.p95_ms
                       ? a.lag.p95_ms > b.lag.p95_ms
                       : std::tie(a.room_id, a.language) < std::tie(b.room_id, b.language);
          });
          if (all.size() > kMaxLagSeries) all.resize(kMaxLagSeries);
          std::vector<metrics::Sample> out;
          for (const auto& series : all) {
            const auto ms = pct == 50 ? series.lag.p50_ms : series.lag.p95_ms;
            out.push_back({{std::to_string(series.room_id), series.language},
                           static_cast<double>(ms) / 1000.0});
          }
          return out;
        });
  }
}

void ServerApp::run() {
  http_->start();
  start_maintenance();
  // A target of 0 measures caption lag but never degrades: no readings are taken.
  if (service_monitor_ && config_.caption_lag_target.count() > 0) {
    service_level_timer_ = std::make_unique<asio::steady_timer>(asio::make_strand(io_));
    // Readings a few times per degrade period, at most every second.
    const auto interval = std::clamp(config_.degrade_after / 4, std::chrono::milliseconds(50),
                                     std::chrono::milliseconds(1000));
    asio::co_spawn(service_level_timer_->get_executor(),
                   service_monitor_->run(*service_level_timer_, interval), asio::detached);
  }
  // The sampler's timer has its own strand, like the maintenance timer; the samples are taken
  // on the worker pool.
  metrics_timer_ = std::make_unique<asio::steady_timer>(asio::make_strand(io_));
  asio::co_spawn(metrics_timer_->get_executor(),
                 metrics::run_sampler(*metrics_timer_, *workers_, *metrics_sampler_, log_),
                 asio::detached);
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
  // A handler that throws must not end a network thread (std::terminate): log it, run on.
  const auto run_loop = [this] {
    for (;;) {
      try {
        io_.run();
        return;
      } catch (const std::exception& e) {
        log_.error("event_loop_exception", {{"what", e.what()}});
      }
    }
  };
  std::vector<std::jthread> threads;
  for (unsigned i = 1; i < config_.threads; ++i) threads.emplace_back(run_loop);
  run_loop();
  for (auto& t : threads) t.join();
}

}  // namespace parley::app
