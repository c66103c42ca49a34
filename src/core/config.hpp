#pragma once
// Configuration from the environment and an optional .env file, with the original server's
// variable names (FLASK_ENV, SECRET_KEY, DATABASE_URL, ...) plus Parley's own PARLEY_* names.
// Every variable is documented in docs/configuration.md and .env.example.

#include <boost/json/object.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/log.hpp"

namespace parley::core {

/// The variables the process sees: its real environment, plus entries of a .env file for names
/// the real environment does not set (the real environment wins).
class Environment {
 public:
  Environment() = default;
  explicit Environment(std::map<std::string, std::string> vars) : vars_(vars.begin(), vars.end()) {}

  /// Snapshot of the process environment (`environ`).
  static Environment from_process();

  /// Adds the file's entries that are not set yet. A missing file is not an error; a syntax
  /// error is (Errc::validation_failed, naming the file and line).
  Result<void> merge_dotenv_file(const std::string& path);
  void merge_missing(const std::map<std::string, std::string>& entries);

  std::optional<std::string> get(std::string_view name) const;

 private:
  std::map<std::string, std::string, std::less<>> vars_;
};

/// Parses .env syntax: `KEY=value`, optional `export `, `#` comments, single quotes (literal),
/// double quotes (with \n \t \" \\ escapes), unquoted values trimmed and cut at ` #`.
Result<std::map<std::string, std::string>> parse_dotenv(std::string_view text);

enum class RunMode { development, production };

struct Config {
  RunMode mode = RunMode::development;

  // Secrets. In development a missing secret is generated per process (sessions do not survive a
  // restart); production refuses to start without strong ones.
  std::string secret_key;
  std::string jwt_secret_key;
  bool secrets_generated = false;

  std::string database_url = "sqlite:///instance/parley.db";
  std::optional<std::string> redis_url;

  std::string bind_address = "127.0.0.1";
  std::uint16_t port = 5000;
  unsigned threads = 0;         ///< network threads; 0 never survives loading (defaults to cores)
  unsigned worker_threads = 0;  ///< blocking-work pool; defaults to cores
  std::size_t worker_queue = 1024;
  unsigned db_pool_size = 4;

  std::string frontend_url;  ///< defaults to backend_url (same origin)
  std::string backend_url = "http://localhost:5000";
  std::vector<std::string> cors_origins;  ///< exact origins allowed cross-origin

  LogLevel log_level = LogLevel::info;
  std::string upload_dir = "uploads";
  std::string web_dir = "web/dist";

  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;
  std::size_t max_upload_bytes = 25 * 1024 * 1024;
  std::size_t max_avatar_bytes = 5 * 1024 * 1024;
  /// Bytes queued for one real-time connection before it is closed as a slow consumer.
  std::size_t socket_max_buffered_bytes = 4 * 1024 * 1024;
  /// WebSocket permessage-deflate offered to clients that ask for it (off by default, as in
  /// Node's socket.io: compression state costs memory on every connection).
  bool websocket_compression = false;
  std::chrono::milliseconds ping_interval{25'000};  ///< Engine.IO heartbeat
  std::chrono::milliseconds ping_timeout{20'000};
  std::chrono::milliseconds socket_connect_timeout{45'000};  ///< Socket.IO connectTimeout
  unsigned socket_events_per_second = 50;                    ///< per connection; burst twice that
  std::chrono::milliseconds read_timeout{15'000};
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds request_timeout{30'000};
  std::chrono::milliseconds shutdown_timeout{20'000};

  // External services (used by later modules; only shape-checked here).
  std::string google_client_id;
  std::string google_client_secret;
  std::string google_discovery_url = "https://accounts.google.com/.well-known/openid-configuration";
  std::string stripe_secret_key;
  std::string stripe_publishable_key;
  /// STRIPE_WEBHOOK_SECRET as given: one `whsec_...` secret, or several separated by commas
  /// while a secret is being rotated (Stripe signs with each live one).
  std::string stripe_webhook_secret;
  /// The secrets of STRIPE_WEBHOOK_SECRET, split at commas and trimmed: verify webhooks with
  /// these (billing::verify_stripe_signature accepts a signature made with any of them).
  std::vector<std::string> stripe_webhook_secrets;
  std::string stripe_price_monthly;  ///< STRIPE_PRICE_MONTHLY: Stripe price id of plan `monthly`
  std::string stripe_price_yearly;   ///< STRIPE_PRICE_YEARLY: Stripe price id of plan `yearly`
  std::string stripe_api_base = "https://api.stripe.com";

  // Plan limits (issue 7; billing::plans_from_config). Per user and UTC day; room members are
  // those of a room the user owns. Paid = the monthly and yearly plans.
  std::int64_t free_speech_minutes_per_day = 10;         ///< PARLEY_FREE_SPEECH_MINUTES_PER_DAY
  std::int64_t free_translated_chars_per_day = 5'000;    ///< PARLEY_FREE_TRANSLATED_CHARS_PER_DAY
  std::int64_t free_max_room_members = 20;               ///< PARLEY_FREE_MAX_ROOM_MEMBERS
  std::int64_t paid_speech_minutes_per_day = 240;        ///< PARLEY_PAID_SPEECH_MINUTES_PER_DAY
  std::int64_t paid_translated_chars_per_day = 500'000;  ///< PARLEY_PAID_TRANSLATED_CHARS_PER_DAY
  std::int64_t paid_max_room_members = 500;              ///< PARLEY_PAID_MAX_ROOM_MEMBERS
  std::string openai_api_key;
  std::string openai_base_url = "https://api.openai.com/v1";
  std::string elevenlabs_api_key;
  std::string elevenlabs_base_url = "https://api.elevenlabs.io";

  // Accounts.
  int bcrypt_cost = 12;                       ///< PARLEY_BCRYPT_COST
  bool bcrypt_legacy_long_passwords = false;  ///< BCRYPT_HANDLE_LONG_PASSWORDS (Flask-Bcrypt)
  std::string password_pepper;                ///< PARLEY_PASSWORD_PEPPER (optional secret)
  std::chrono::seconds access_token_ttl{900};
  std::chrono::seconds refresh_token_ttl{30LL * 24 * 3600};
  /// How long a session found active is trusted without asking the database again
  /// (PARLEY_SESSION_CACHE_S; 0: always ask). See auth/session_cache.hpp.
  std::chrono::seconds session_cache_ttl{5};
  std::chrono::seconds guest_idle_ttl{7LL * 24 * 3600};
  unsigned login_per_minute = 60;   ///< per client address
  unsigned register_per_hour = 20;  ///< per client address
  unsigned guests_per_hour = 30;    ///< per client address

  // Speech (issue 5). Engines: "auto" picks the embedded engine where it can do the job and the
  // cloud engine (when its key is set) for what the embedded one cannot.
  std::string stt_engine = "auto";  ///< PARLEY_STT_ENGINE: auto|pocketsphinx|openai
  std::string tts_engine = "auto";  ///< PARLEY_TTS_ENGINE: auto|espeak-ng|elevenlabs
  std::string openai_transcription_model = "whisper-1";  ///< OPENAI_TRANSCRIPTION_MODEL
  std::string elevenlabs_voice_id =
      "21m00Tcm4TlvDq8ikWAM";  ///< ELEVENLABS_VOICE_ID (default voice)
  std::string elevenlabs_model_id = "eleven_multilingual_v2";  ///< ELEVENLABS_MODEL_ID
  std::string pocketsphinx_model_dir = "/usr/share/pocketsphinx/model/en-us";
  std::string audio_decoder_path;   ///< PARLEY_AUDIO_DECODER; empty: next to the running binary
  unsigned speech_threads = 0;      ///< PARLEY_SPEECH_THREADS; defaults to cores
  unsigned max_speech_streams = 6;  ///< PARLEY_MAX_SPEECH_STREAMS (whole server)
  unsigned max_speech_streams_per_user = 2;       ///< PARLEY_MAX_SPEECH_STREAMS_PER_USER
  std::chrono::seconds max_stream_duration{600};  ///< PARLEY_MAX_STREAM_SECONDS
  std::chrono::seconds stream_idle_timeout{15};   ///< PARLEY_STREAM_IDLE_SECONDS
  /// Longest audio upload: it is transcribed within the request (RTF ~0.2), so keep it short.
  std::chrono::seconds max_audio_duration{120};  ///< PARLEY_MAX_AUDIO_SECONDS (uploads)
  /// Audio a stream may have queued ahead of recognition before chunks are refused.
  std::chrono::milliseconds max_stream_backlog{5000};  ///< PARLEY_MAX_STREAM_BACKLOG_MS

  // Caption lag as a service level (issue 11).
  /// Caption lag p95 at which the server counts as at capacity and starts shedding work; 0
  /// measures lag but never degrades.
  std::chrono::milliseconds caption_lag_target{2500};  ///< PARLEY_CAPTION_LAG_TARGET_MS
  std::chrono::milliseconds degrade_after{5000};       ///< PARLEY_DEGRADE_AFTER_MS
  std::chrono::milliseconds recover_after{20000};      ///< PARLEY_RECOVER_AFTER_MS

  // Translation (issue 6).
  std::string translation_engine = "auto";  ///< PARLEY_TRANSLATION_ENGINE: auto|apertium|openai
  std::string openai_translation_model = "gpt-4o-mini";          ///< OPENAI_TRANSLATION_MODEL
  std::string apertium_modes_dir = "/usr/share/apertium/modes";  ///< PARLEY_APERTIUM_MODES_DIR
  /// The OpenAI-compatible engine's own limits (the service's are usually per key and minute).
  unsigned openai_translation_rpm = 500;           ///< OPENAI_TRANSLATION_RPM (requests/min)
  std::uint64_t openai_translation_tpm = 200'000;  ///< OPENAI_TRANSLATION_TPM (tokens/min)
  unsigned translation_threads = 2;                ///< PARLEY_TRANSLATION_THREADS (queue workers)
  unsigned translation_max_attempts = 5;           ///< PARLEY_TRANSLATION_MAX_ATTEMPTS per job
  /// First retry delay; doubles per attempt (with jitter) up to 5 minutes.
  std::chrono::milliseconds translation_backoff{1000};  ///< PARLEY_TRANSLATION_BACKOFF_MS
  /// How long a worker holds a job before another may take it over (a crashed worker's jobs
  /// run again after it). Must outlast the slowest translation, retries included.
  std::chrono::milliseconds translation_lease{120'000};  ///< PARLEY_TRANSLATION_LEASE_MS
  /// Texts and translations kept in memory in front of the database cache.
  unsigned translation_cache_entries = 10'000;  ///< PARLEY_TRANSLATION_CACHE_ENTRIES

  // Operations and scale-out (issue 8).
  /// PARLEY_NODE_ID: this process's name among several (logs, metrics, the cluster bus);
  /// defaults to host name and process id.
  std::string node_id;
  /// PARLEY_METRICS_TOKEN: a scraper sends `Authorization: Bearer <token>` to GET /metrics.
  /// Unset, /metrics answers loopback clients only.
  std::string metrics_token;
  /// PARLEY_ADMIN_EMAILS: accounts (comma-separated emails, compared case-insensitively) that
  /// may read /api/admin/*.
  std::vector<std::string> admin_emails;
  std::chrono::seconds metrics_sample_interval{60};          ///< PARLEY_METRICS_SAMPLE_SECONDS
  std::chrono::seconds metrics_retention{30LL * 24 * 3600};  ///< PARLEY_METRICS_RETENTION_DAYS
  /// PARLEY_DEBUG_LOG_LEVEL: records at this level and above also go to the debug_log table
  /// (the original's DebugLog); unset (or OFF): none do.
  std::optional<LogLevel> debug_log_level;
  std::chrono::seconds debug_log_retention{14LL * 24 * 3600};  ///< PARLEY_DEBUG_LOG_RETENTION_DAYS
  /// PARLEY_REDIS_TIMEOUT_MS: one Redis command's deadline; past it Redis counts as lost.
  std::chrono::milliseconds redis_timeout{1000};

  bool protocol_conformance = false;
};

/// Reads and validates every variable. The first problem found is returned as
/// Errc::validation_failed with a one-line message naming the variable; secrets are never
/// echoed in messages.
Result<Config> load_config(const Environment& env);

/// The configuration as JSON for the start-up log, with every secret replaced by "(set)" or
/// "(unset)".
boost::json::object describe(const Config& config);

}  // namespace parley::core
