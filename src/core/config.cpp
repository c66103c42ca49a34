#include "core/config.hpp"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <boost/url/parse.hpp>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>
#include <tuple>

#include "core/random.hpp"

extern char** environ;

namespace parley::core {

// ---------------------------------------------------------------------------------------------
// Environment and .env

Environment Environment::from_process() {
  std::map<std::string, std::string> vars;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view kv(*entry);
    const auto eq = kv.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    vars.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return Environment(std::move(vars));
}

void Environment::merge_missing(const std::map<std::string, std::string>& entries) {
  for (const auto& [key, value] : entries) vars_.try_emplace(key, value);
}

Result<void> Environment::merge_dotenv_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};  // an absent .env is normal
  std::ostringstream text;
  text << in.rdbuf();
  auto parsed = parse_dotenv(text.str());
  if (!parsed) {
    return fail(Errc::validation_failed, path + ": " + parsed.error().message);
  }
  merge_missing(*parsed);
  return {};
}

std::optional<std::string> Environment::get(std::string_view name) const {
  const auto it = vars_.find(name);
  if (it == vars_.end()) return std::nullopt;
  return it->second;
}

namespace {

// CPUs this process may run on: its affinity mask (taskset, container cpusets), not the
// machine's count, so that a process pinned to one core runs one network thread.
unsigned usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    const int count = CPU_COUNT(&set);
    if (count > 0) return static_cast<unsigned>(count);
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

bool valid_name(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name.front()))) return false;
  return std::all_of(name.begin(), name.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '.'; });
}

}  // namespace

Result<std::map<std::string, std::string>> parse_dotenv(std::string_view text) {
  std::map<std::string, std::string> out;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const auto end = text.find('\n', pos);
    std::string_view line =
        text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    pos = end == std::string_view::npos ? text.size() + 1 : end + 1;
    ++line_no;
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    if (line.starts_with("export ")) line = trim(line.substr(7));
    const auto eq = line.find('=');
    const auto where = "line " + std::to_string(line_no);
    if (eq == std::string_view::npos) {
      return fail(Errc::validation_failed, where + ": expected NAME=value");
    }
    const std::string_view name = trim(line.substr(0, eq));
    if (!valid_name(name)) {
      return fail(Errc::validation_failed, where + ": invalid variable name");
    }
    std::string_view raw = trim(line.substr(eq + 1));
    std::string value;
    if (!raw.empty() && (raw.front() == '"' || raw.front() == '\'')) {
      const char quote = raw.front();
      std::size_t i = 1;
      bool closed = false;
      for (; i < raw.size(); ++i) {
        const char c = raw[i];
        if (c == quote) {
          closed = true;
          break;
        }
        if (quote == '"' && c == '\\' && i + 1 < raw.size()) {
          const char n = raw[++i];
          switch (n) {
            case 'n':
              value.push_back('\n');
              break;
            case 't':
              value.push_back('\t');
              break;
            case 'r':
              value.push_back('\r');
              break;
            default:
              value.push_back(n);
              break;
          }
          continue;
        }
        value.push_back(c);
      }
      if (!closed) return fail(Errc::validation_failed, where + ": unterminated quoted value");
      const std::string_view rest = trim(raw.substr(i + 1));
      if (!rest.empty() && rest.front() != '#') {
        return fail(Errc::validation_failed, where + ": unexpected text after quoted value");
      }
    } else {
      const auto hash = raw.find(" #");
      value = std::string(trim(raw.substr(0, hash)));
    }
    out[std::string(name)] = std::move(value);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Validation helpers: each returns a one-line message that names the variable.

namespace {

Error bad(std::string_view name, std::string_view rule) {
  return fail(Errc::validation_failed, std::string(name) + " " + std::string(rule));
}

// Quotes a value for an error message, shortened so that a pasted secret cannot fill a screen.
std::string shown(std::string_view value) {
  std::string s(value.substr(0, 40));
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x20) c = '?';
  }
  return "\"" + s + (value.size() > 40 ? "...\"" : "\"");
}

template <class Int>
Result<Int> integer(const Environment& env, std::string_view name, Int fallback, Int min, Int max) {
  const auto raw = env.get(name);
  if (!raw) return fallback;
  const std::string_view s = trim(*raw);
  Int value{};
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size() || value < min || value > max) {
    return bad(name, "must be a whole number from " + std::to_string(min) + " to " +
                         std::to_string(max) + " (got " + shown(*raw) + ")");
  }
  return value;
}

Result<std::chrono::milliseconds> millis(const Environment& env, std::string_view name,
                                         std::chrono::milliseconds fallback) {
  auto v = integer<std::int64_t>(env, name, fallback.count(), 1, 24LL * 3600 * 1000);
  if (!v) return v.error();
  return std::chrono::milliseconds(*v);
}

std::string text(const Environment& env, std::string_view name, std::string fallback = {}) {
  auto v = env.get(name);
  return v ? std::string(trim(*v)) : std::move(fallback);
}

// Host name and process id: unique among the processes of a deployment.
std::string default_node_id() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0')
    std::snprintf(host, sizeof host, "parley");
  std::string id;
  for (const char* p = host; *p != '\0' && id.size() < 40; ++p) {
    const char ch = *p;
    id.push_back(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '.' ? ch : '-');
  }
  return id + "-" + std::to_string(getpid());
}

// An absolute http(s) URL with a host; returns it without a trailing slash.
Result<std::string> http_url(std::string_view name, const std::string& value) {
  auto parsed = boost::urls::parse_absolute_uri(value);
  if (!parsed || (parsed->scheme() != "http" && parsed->scheme() != "https") ||
      parsed->encoded_host().empty()) {
    return bad(name, "must be an absolute http:// or https:// URL (got " + shown(value) + ")");
  }
  std::string out = value;
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

// scheme://host[:port] in lower case: what browsers send in the Origin header.
std::string origin_of(const std::string& url) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  std::string origin = std::string(parsed->scheme()) + "://" + std::string(parsed->encoded_host());
  if (parsed->has_port()) origin += ":" + std::string(parsed->port());
  std::transform(origin.begin(), origin.end(), origin.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return origin;
}

// Placeholder values from the original's README and common templates: a production server that
// starts with one of these has no secret at all.
bool is_known_default(std::string_view secret) {
  static constexpr std::string_view kDefaults[] = {"your-secret-key-here",
                                                   "your-jwt-secret-key",
                                                   "secret",
                                                   "changeme",
                                                   "change-me",
                                                   "dev",
                                                   "development",
                                                   "jwt-secret",
                                                   "super-secret",
                                                   "replace-me"};
  return std::find(std::begin(kDefaults), std::end(kDefaults), secret) != std::end(kDefaults);
}

constexpr std::size_t kMinSecretBytes = 32;

Result<std::string> secret(const Environment& env, std::string_view name, RunMode mode,
                           bool& generated) {
  const auto value = text(env, name);
  if (mode == RunMode::production) {
    if (value.empty()) return bad(name, "must be set in production");
    if (is_known_default(value))
      return bad(name, "is a published example value; set a real secret");
    if (value.size() < kMinSecretBytes) {
      return bad(name, "must be at least 32 characters of random data in production");
    }
    return value;
  }
  if (value.empty()) {
    generated = true;
    return random_hex(32);
  }
  return value;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

Result<Config> load_config(const Environment& env) {
  Config c;
  const unsigned cores = usable_cpus();

  // FLASK_ENV is the original's name; PARLEY_ENV wins when both are set.
  std::string mode = text(env, "PARLEY_ENV", text(env, "FLASK_ENV", "development"));
  std::transform(mode.begin(), mode.end(), mode.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  const std::string_view mode_name = env.get("PARLEY_ENV") ? "PARLEY_ENV" : "FLASK_ENV";
  if (mode == "production") {
    c.mode = RunMode::production;
  } else if (mode == "development" || mode == "test" || mode == "testing") {
    c.mode = RunMode::development;
  } else {
    return bad(mode_name, "must be development or production (got " + shown(mode) + ")");
  }

  auto secret_key = secret(env, "SECRET_KEY", c.mode, c.secrets_generated);
  if (!secret_key) return secret_key.error();
  c.secret_key = *secret_key;
  auto jwt_key = secret(env, "JWT_SECRET_KEY", c.mode, c.secrets_generated);
  if (!jwt_key) return jwt_key.error();
  c.jwt_secret_key = *jwt_key;
  if (c.jwt_secret_key.size() < kMinSecretBytes) {
    // An HS256 key shorter than the hash output is brute-forceable (RFC 7518 3.2), in any mode.
    return bad("JWT_SECRET_KEY", "must be at least 32 characters of random data");
  }
  if (c.mode == RunMode::production && c.jwt_secret_key == c.secret_key) {
    return bad("JWT_SECRET_KEY", "must differ from SECRET_KEY");
  }

  c.database_url = text(env, "DATABASE_URL", c.database_url);
  if (!(c.database_url.starts_with("sqlite:///") || c.database_url.starts_with("postgresql://") ||
        c.database_url.starts_with("postgres://"))) {
    return bad("DATABASE_URL",
               "must start with sqlite:/// or postgresql:// (got a URL with another scheme)");
  }
  if (auto redis = text(env, "REDIS_URL"); !redis.empty()) {
    if (!redis.starts_with("redis://") && !redis.starts_with("unix://")) {
      return bad("REDIS_URL", "must start with redis:// or unix://");
    }
    c.redis_url = redis;
  }

  c.bind_address = text(env, "PARLEY_BIND", c.bind_address);
  {
    boost::system::error_code ec;
    boost::asio::ip::make_address(c.bind_address, ec);
    if (ec) {
      return bad("PARLEY_BIND",
                 "must be an IPv4 or IPv6 address such as 127.0.0.1 or 0.0.0.0 (got " +
                     shown(c.bind_address) + ")");
    }
  }
  auto port = integer<int>(env, "PARLEY_PORT", 5000, 0, 65535);
  if (!port) return port.error();
  c.port = static_cast<std::uint16_t>(*port);
  auto threads = integer<unsigned>(env, "PARLEY_THREADS", cores, 1, 256);
  if (!threads) return threads.error();
  c.threads = *threads;
  auto workers = integer<unsigned>(env, "PARLEY_WORKERS", std::max(2u, cores), 1, 256);
  if (!workers) return workers.error();
  c.worker_threads = *workers;
  auto queue = integer<std::size_t>(env, "PARLEY_WORKER_QUEUE", c.worker_queue, 1, 1'000'000);
  if (!queue) return queue.error();
  c.worker_queue = *queue;
  auto pool = integer<unsigned>(env, "PARLEY_DB_POOL_SIZE", c.db_pool_size, 1, 256);
  if (!pool) return pool.error();
  c.db_pool_size = *pool;

  // Unset, the backend's own URL follows the port it listens on.
  const std::string default_backend =
      "http://localhost:" + std::to_string(c.port == 0 ? 5000 : c.port);
  auto backend = http_url("BACKEND_URL", text(env, "BACKEND_URL", default_backend));
  if (!backend) return backend.error();
  c.backend_url = *backend;
  auto frontend = http_url("FRONTEND_URL", text(env, "FRONTEND_URL", c.backend_url));
  if (!frontend) return frontend.error();
  c.frontend_url = *frontend;
  c.cors_origins.push_back(origin_of(c.frontend_url));
  if (auto extra = text(env, "PARLEY_CORS_ORIGINS"); !extra.empty()) {
    std::string_view rest = extra;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      const std::string item(trim(rest.substr(0, comma)));
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      if (item.empty()) continue;
      auto url = http_url("PARLEY_CORS_ORIGINS", item);
      if (!url) return url.error();
      c.cors_origins.push_back(origin_of(*url));
    }
  }

  const auto level_text = text(env, "LOG_LEVEL", "INFO");
  const auto level = parse_log_level(level_text);
  if (!level) {
    return bad("LOG_LEVEL",
               "must be DEBUG, INFO, WARNING or ERROR (got " + shown(level_text) + ")");
  }
  c.log_level = *level;

  c.upload_dir = text(env, "UPLOAD_DIR", c.upload_dir);
  if (c.upload_dir.empty()) return bad("UPLOAD_DIR", "must not be empty");
  c.web_dir = text(env, "PARLEY_WEB_DIR", c.web_dir);
  if (c.web_dir.empty()) return bad("PARLEY_WEB_DIR", "must not be empty");

  auto header =
      integer<std::size_t>(env, "PARLEY_MAX_HEADER_BYTES", c.max_header_bytes, 1024, 1024 * 1024);
  if (!header) return header.error();
  c.max_header_bytes = *header;
  auto body =
      integer<std::size_t>(env, "PARLEY_MAX_BODY_BYTES", c.max_body_bytes, 1024, 64 * 1024 * 1024);
  if (!body) return body.error();
  c.max_body_bytes = *body;
  auto upload = integer<std::size_t>(env, "PARLEY_MAX_UPLOAD_BYTES", c.max_upload_bytes, 1024,
                                     1024LL * 1024 * 1024);
  if (!upload) return upload.error();
  c.max_upload_bytes = *upload;
  auto avatar = integer<std::size_t>(env, "PARLEY_MAX_AVATAR_BYTES", c.max_avatar_bytes, 1024,
                                     64 * 1024 * 1024);
  if (!avatar) return avatar.error();
  c.max_avatar_bytes = *avatar;
  auto buffered =
      integer<std::size_t>(env, "PARLEY_SOCKET_MAX_BUFFERED_BYTES", c.socket_max_buffered_bytes,
                           64 * 1024, 1024LL * 1024 * 1024);
  if (!buffered) return buffered.error();
  c.socket_max_buffered_bytes = *buffered;
  const auto compression = text(env, "PARLEY_WS_COMPRESSION", "0");
  if (compression != "0" && compression != "1")
    return bad("PARLEY_WS_COMPRESSION", "must be 0 or 1");
  c.websocket_compression = compression == "1";

  for (auto [name, field] :
       {std::pair{"PARLEY_PING_INTERVAL_MS", &c.ping_interval},
        std::pair{"PARLEY_PING_TIMEOUT_MS", &c.ping_timeout},
        std::pair{"PARLEY_SOCKET_CONNECT_TIMEOUT_MS", &c.socket_connect_timeout},
        std::pair{"PARLEY_READ_TIMEOUT_MS", &c.read_timeout},
        std::pair{"PARLEY_IDLE_TIMEOUT_MS", &c.idle_timeout},
        std::pair{"PARLEY_REQUEST_TIMEOUT_MS", &c.request_timeout},
        std::pair{"PARLEY_SHUTDOWN_TIMEOUT_MS", &c.shutdown_timeout}}) {
    auto v = millis(env, name, *field);
    if (!v) return v.error();
    *field = *v;
  }

  c.google_client_id = text(env, "GOOGLE_CLIENT_ID");
  c.google_client_secret = text(env, "GOOGLE_CLIENT_SECRET");
  if (c.google_client_id.empty() != c.google_client_secret.empty()) {
    return bad(c.google_client_id.empty() ? "GOOGLE_CLIENT_ID" : "GOOGLE_CLIENT_SECRET",
               "must be set together with its pair to enable Google sign-in");
  }
  {
    auto url =
        http_url("GOOGLE_DISCOVERY_URL", text(env, "GOOGLE_DISCOVERY_URL", c.google_discovery_url));
    if (!url) return url.error();
    c.google_discovery_url = *url;
  }

  c.stripe_secret_key = text(env, "STRIPE_SECRET_KEY");
  if (!c.stripe_secret_key.empty() && !c.stripe_secret_key.starts_with("sk_") &&
      !c.stripe_secret_key.starts_with("rk_")) {
    return bad("STRIPE_SECRET_KEY", "must start with sk_ or rk_");
  }
  c.stripe_publishable_key = text(env, "STRIPE_PUBLISHABLE_KEY");
  if (!c.stripe_publishable_key.empty() && !c.stripe_publishable_key.starts_with("pk_")) {
    return bad("STRIPE_PUBLISHABLE_KEY", "must start with pk_");
  }
  // Several secrets, comma-separated, while an endpoint secret is rolled: Stripe then signs each
  // delivery with the old and the new one, and either verifies.
  c.stripe_webhook_secret = text(env, "STRIPE_WEBHOOK_SECRET");
  {
    std::string_view rest = c.stripe_webhook_secret;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      const std::string item(trim(rest.substr(0, comma)));
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      if (item.empty()) continue;
      if (!item.starts_with("whsec_") || item.size() == 6) {
        return bad("STRIPE_WEBHOOK_SECRET",
                   "must be whsec_... secrets (several separated by commas)");
      }
      if (item.find_first_of(" \t") != std::string::npos) {
        return bad("STRIPE_WEBHOOK_SECRET", "must not contain spaces inside a secret");
      }
      c.stripe_webhook_secrets.push_back(item);
    }
  }
  for (auto [name, field] : {std::pair{"STRIPE_PRICE_MONTHLY", &c.stripe_price_monthly},
                             std::pair{"STRIPE_PRICE_YEARLY", &c.stripe_price_yearly}}) {
    *field = text(env, name);
    if (field->find_first_of(" \t,") != std::string::npos) {
      return bad(name, "must be one Stripe price id such as price_123 (got " + shown(*field) + ")");
    }
  }
  if (!c.stripe_price_monthly.empty() && c.stripe_price_monthly == c.stripe_price_yearly) {
    return bad("STRIPE_PRICE_YEARLY", "must differ from STRIPE_PRICE_MONTHLY");
  }
  // Plan limits. A paid limit below the free one would make paying lose something.
  for (auto [free_name, free_field, paid_name, paid_field, min, max] :
       {std::tuple{"PARLEY_FREE_SPEECH_MINUTES_PER_DAY", &c.free_speech_minutes_per_day,
                   "PARLEY_PAID_SPEECH_MINUTES_PER_DAY", &c.paid_speech_minutes_per_day, 0LL,
                   24LL * 60},
        std::tuple{"PARLEY_FREE_TRANSLATED_CHARS_PER_DAY", &c.free_translated_chars_per_day,
                   "PARLEY_PAID_TRANSLATED_CHARS_PER_DAY", &c.paid_translated_chars_per_day, 0LL,
                   1'000'000'000LL},
        std::tuple{"PARLEY_FREE_MAX_ROOM_MEMBERS", &c.free_max_room_members,
                   "PARLEY_PAID_MAX_ROOM_MEMBERS", &c.paid_max_room_members, 2LL, 1'000'000LL}}) {
    auto free_value = integer<std::int64_t>(env, free_name, *free_field, min, max);
    if (!free_value) return free_value.error();
    *free_field = *free_value;
    auto paid_value = integer<std::int64_t>(env, paid_name, *paid_field, min, max);
    if (!paid_value) return paid_value.error();
    *paid_field = *paid_value;
    if (*paid_field < *free_field) {
      return bad(paid_name, "must be at least " + std::string(free_name) + " (" +
                                std::to_string(*free_field) + ")");
    }
  }
  for (auto [name, field] : {std::pair{"STRIPE_API_BASE", &c.stripe_api_base},
                             std::pair{"OPENAI_BASE_URL", &c.openai_base_url},
                             std::pair{"ELEVENLABS_BASE_URL", &c.elevenlabs_base_url}}) {
    auto url = http_url(name, text(env, name, *field));
    if (!url) return url.error();
    *field = *url;
  }
  c.openai_api_key = text(env, "OPENAI_API_KEY");
  c.elevenlabs_api_key = text(env, "ELEVENLABS_API_KEY");

  // bcrypt below 10 is for fast tests only (ASVS 2.4.4): production refuses it.
  auto cost = integer<int>(env, "PARLEY_BCRYPT_COST", c.bcrypt_cost,
                           c.mode == RunMode::production ? 10 : 4, 31);
  if (!cost) return cost.error();
  c.bcrypt_cost = *cost;
  const auto long_mode = text(env, "BCRYPT_HANDLE_LONG_PASSWORDS", "false");
  if (long_mode != "true" && long_mode != "false" && long_mode != "True" && long_mode != "False" &&
      long_mode != "1" && long_mode != "0") {
    return bad("BCRYPT_HANDLE_LONG_PASSWORDS", "must be true or false");
  }
  c.bcrypt_legacy_long_passwords = long_mode == "true" || long_mode == "True" || long_mode == "1";
  c.password_pepper = text(env, "PARLEY_PASSWORD_PEPPER");
  for (auto [name, field, min, max] :
       {std::tuple{"PARLEY_ACCESS_TOKEN_TTL_S", &c.access_token_ttl, 60LL, 24LL * 3600},
        std::tuple{"PARLEY_REFRESH_TOKEN_TTL_S", &c.refresh_token_ttl, 300LL, 365LL * 24 * 3600},
        std::tuple{"PARLEY_GUEST_IDLE_TTL_S", &c.guest_idle_ttl, 60LL, 365LL * 24 * 3600},
        std::tuple{"PARLEY_SESSION_CACHE_S", &c.session_cache_ttl, 0LL, 300LL}}) {
    auto v = integer<std::int64_t>(env, name, field->count(), min, max);
    if (!v) return v.error();
    *field = std::chrono::seconds(*v);
  }
  for (auto [name, field] :
       {std::pair{"PARLEY_LOGIN_PER_MINUTE", &c.login_per_minute},
        std::pair{"PARLEY_REGISTER_PER_HOUR", &c.register_per_hour},
        std::pair{"PARLEY_GUESTS_PER_HOUR", &c.guests_per_hour},
        std::pair{"PARLEY_SOCKET_EVENTS_PER_SECOND", &c.socket_events_per_second}}) {
    auto v = integer<unsigned>(env, name, *field, 1, 1'000'000);
    if (!v) return v.error();
    *field = *v;
  }

  c.stt_engine = text(env, "PARLEY_STT_ENGINE", c.stt_engine);
  if (c.stt_engine != "auto" && c.stt_engine != "pocketsphinx" && c.stt_engine != "openai") {
    return bad("PARLEY_STT_ENGINE", "must be auto, pocketsphinx or openai");
  }
  if (c.stt_engine == "openai" && c.openai_api_key.empty()) {
    return bad("PARLEY_STT_ENGINE", "is openai but OPENAI_API_KEY is not set");
  }
  c.tts_engine = text(env, "PARLEY_TTS_ENGINE", c.tts_engine);
  if (c.tts_engine != "auto" && c.tts_engine != "espeak-ng" && c.tts_engine != "elevenlabs") {
    return bad("PARLEY_TTS_ENGINE", "must be auto, espeak-ng or elevenlabs");
  }
  if (c.tts_engine == "elevenlabs" && c.elevenlabs_api_key.empty()) {
    return bad("PARLEY_TTS_ENGINE", "is elevenlabs but ELEVENLABS_API_KEY is not set");
  }
  for (auto [name, field] :
       {std::pair{"OPENAI_TRANSCRIPTION_MODEL", &c.openai_transcription_model},
        std::pair{"ELEVENLABS_VOICE_ID", &c.elevenlabs_voice_id},
        std::pair{"ELEVENLABS_MODEL_ID", &c.elevenlabs_model_id},
        std::pair{"PARLEY_POCKETSPHINX_MODEL_DIR", &c.pocketsphinx_model_dir}}) {
    *field = text(env, name, *field);
    if (field->empty()) return bad(name, "must not be empty");
  }
  c.audio_decoder_path = text(env, "PARLEY_AUDIO_DECODER");
  {
    auto v = integer<unsigned>(env, "PARLEY_SPEECH_THREADS", c.speech_threads, 0, 256);
    if (!v) return v.error();
    c.speech_threads = *v != 0 ? *v : std::max(1u, c.worker_threads);
  }
  for (auto [name, field, max] :
       {std::tuple{"PARLEY_MAX_SPEECH_STREAMS", &c.max_speech_streams, 10'000u},
        std::tuple{"PARLEY_MAX_SPEECH_STREAMS_PER_USER", &c.max_speech_streams_per_user, 100u}}) {
    auto v = integer<unsigned>(env, name, *field, 1, max);
    if (!v) return v.error();
    *field = *v;
  }
  for (auto [name, field, max] :
       {std::tuple{"PARLEY_MAX_STREAM_SECONDS", &c.max_stream_duration, 24LL * 3600},
        std::tuple{"PARLEY_STREAM_IDLE_SECONDS", &c.stream_idle_timeout, 3600LL},
        std::tuple{"PARLEY_MAX_AUDIO_SECONDS", &c.max_audio_duration, 24LL * 3600}}) {
    auto v = integer<std::int64_t>(env, name, field->count(), 1, max);
    if (!v) return v.error();
    *field = std::chrono::seconds(*v);
  }
  {
    auto v = millis(env, "PARLEY_MAX_STREAM_BACKLOG_MS", c.max_stream_backlog);
    if (!v) return v.error();
    c.max_stream_backlog = *v;
  }
  {
    auto v = integer<std::int64_t>(env, "PARLEY_CAPTION_LAG_TARGET_MS",
                                   c.caption_lag_target.count(), 0, 3600LL * 1000);
    if (!v) return v.error();
    c.caption_lag_target = std::chrono::milliseconds(*v);
  }
  for (auto [name, field] : {std::pair{"PARLEY_DEGRADE_AFTER_MS", &c.degrade_after},
                             std::pair{"PARLEY_RECOVER_AFTER_MS", &c.recover_after}}) {
    auto v = millis(env, name, *field);
    if (!v) return v.error();
    *field = *v;
  }

  c.translation_engine = text(env, "PARLEY_TRANSLATION_ENGINE", c.translation_engine);
  if (c.translation_engine != "auto" && c.translation_engine != "apertium" &&
      c.translation_engine != "openai") {
    return bad("PARLEY_TRANSLATION_ENGINE", "must be auto, apertium or openai");
  }
  if (c.translation_engine == "openai" && c.openai_api_key.empty()) {
    return bad("PARLEY_TRANSLATION_ENGINE", "is openai but OPENAI_API_KEY is not set");
  }
  for (auto [name, field] : {std::pair{"OPENAI_TRANSLATION_MODEL", &c.openai_translation_model},
                             std::pair{"PARLEY_APERTIUM_MODES_DIR", &c.apertium_modes_dir}}) {
    *field = text(env, name, *field);
    if (field->empty()) return bad(name, "must not be empty");
  }
  for (auto [name, field, min, max] :
       {std::tuple{"OPENAI_TRANSLATION_RPM", &c.openai_translation_rpm, 1u, 1'000'000u},
        std::tuple{"PARLEY_TRANSLATION_THREADS", &c.translation_threads, 1u, 64u},
        std::tuple{"PARLEY_TRANSLATION_MAX_ATTEMPTS", &c.translation_max_attempts, 1u, 100u},
        std::tuple{"PARLEY_TRANSLATION_CACHE_ENTRIES", &c.translation_cache_entries, 0u,
                   10'000'000u}}) {
    auto v = integer<unsigned>(env, name, *field, min, max);
    if (!v) return v.error();
    *field = *v;
  }
  {
    auto v = integer<std::uint64_t>(env, "OPENAI_TRANSLATION_TPM", c.openai_translation_tpm, 1,
                                    1'000'000'000'000ULL);
    if (!v) return v.error();
    c.openai_translation_tpm = *v;
    auto backoff = millis(env, "PARLEY_TRANSLATION_BACKOFF_MS", c.translation_backoff);
    if (!backoff) return backoff.error();
    c.translation_backoff = *backoff;
    auto lease = millis(env, "PARLEY_TRANSLATION_LEASE_MS", c.translation_lease);
    if (!lease) return lease.error();
    if (lease->count() < 1000) return bad("PARLEY_TRANSLATION_LEASE_MS", "must be at least 1000");
    c.translation_lease = *lease;
  }

  c.node_id = text(env, "PARLEY_NODE_ID", default_node_id());
  if (c.node_id.empty() || c.node_id.size() > 64 ||
      c.node_id.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                  "._-") != std::string::npos) {
    return bad("PARLEY_NODE_ID", "must be 1 to 64 letters, digits, '.', '_' or '-'");
  }
  c.metrics_token = text(env, "PARLEY_METRICS_TOKEN");
  if (!c.metrics_token.empty() && c.metrics_token.size() < 16) {
    return bad("PARLEY_METRICS_TOKEN", "must be at least 16 characters");
  }
  if (auto emails = text(env, "PARLEY_ADMIN_EMAILS"); !emails.empty()) {
    std::string_view rest = emails;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      std::string item(trim(rest.substr(0, comma)));
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      if (item.empty()) continue;
      if (item.find('@') == std::string::npos) {
        return bad("PARLEY_ADMIN_EMAILS", "must be email addresses separated by commas");
      }
      std::transform(item.begin(), item.end(), item.begin(),
                     [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
      c.admin_emails.push_back(std::move(item));
    }
  }
  {
    auto sample = integer<std::int64_t>(env, "PARLEY_METRICS_SAMPLE_SECONDS",
                                        c.metrics_sample_interval.count(), 1, 24 * 3600);
    if (!sample) return sample.error();
    c.metrics_sample_interval = std::chrono::seconds(*sample);
    for (auto [name, field] :
         {std::pair{"PARLEY_METRICS_RETENTION_DAYS", &c.metrics_retention},
          std::pair{"PARLEY_DEBUG_LOG_RETENTION_DAYS", &c.debug_log_retention}}) {
      auto days = integer<std::int64_t>(env, name, field->count() / (24 * 3600), 1, 3650);
      if (!days) return days.error();
      *field = std::chrono::seconds(*days * 24 * 3600);
    }
  }
  if (auto db_level = text(env, "PARLEY_DEBUG_LOG_LEVEL"); !db_level.empty()) {
    std::string lower = db_level;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    if (lower != "off") {
      const auto parsed = parse_log_level(db_level);
      if (!parsed) {
        return bad("PARLEY_DEBUG_LOG_LEVEL",
                   "must be OFF, DEBUG, INFO, WARNING or ERROR (got " + shown(db_level) + ")");
      }
      c.debug_log_level = *parsed;
    }
  }
  {
    auto timeout = millis(env, "PARLEY_REDIS_TIMEOUT_MS", c.redis_timeout);
    if (!timeout) return timeout.error();
    if (timeout->count() < 10) return bad("PARLEY_REDIS_TIMEOUT_MS", "must be at least 10");
    c.redis_timeout = *timeout;
  }

  const auto conformance = text(env, "PARLEY_PROTOCOL_CONFORMANCE", "0");
  if (conformance != "0" && conformance != "1") {
    return bad("PARLEY_PROTOCOL_CONFORMANCE", "must be 0 or 1");
  }
  c.protocol_conformance = conformance == "1";
  if (c.protocol_conformance && c.mode == RunMode::production) {
    return bad("PARLEY_PROTOCOL_CONFORMANCE", "is a testing mode and is refused in production");
  }
  return c;
}

boost::json::object describe(const Config& c) {
  auto set = [](const std::string& s) { return s.empty() ? "(unset)" : "(set)"; };
  // A database URL may carry a password: show only its scheme.
  const auto scheme_end = c.database_url.find("://");
  boost::json::array origins;
  for (const auto& o : c.cors_origins) origins.emplace_back(o);
  return {
      {"mode", c.mode == RunMode::production ? "production" : "development"},
      {"secret_key", c.secrets_generated ? "(generated for this process)" : "(set)"},
      {"database", c.database_url.substr(0, scheme_end)},
      {"redis", c.redis_url ? "(set)" : "(unset)"},
      {"bind", c.bind_address},
      {"port", c.port},
      {"threads", c.threads},
      {"workers", c.worker_threads},
      {"frontend_url", c.frontend_url},
      {"backend_url", c.backend_url},
      {"cors_origins", std::move(origins)},
      {"log_level", to_string(c.log_level)},
      {"upload_dir", c.upload_dir},
      {"web_dir", c.web_dir},
      {"google", set(c.google_client_id)},
      {"stripe", set(c.stripe_secret_key)},
      {"openai", set(c.openai_api_key)},
      {"elevenlabs", set(c.elevenlabs_api_key)},
      {"stt_engine", c.stt_engine},
      {"tts_engine", c.tts_engine},
      {"speech_threads", c.speech_threads},
      {"max_speech_streams", c.max_speech_streams},
      {"caption_lag_target_ms", c.caption_lag_target.count()},
      {"translation_engine", c.translation_engine},
      {"translation_threads", c.translation_threads},
      {"node_id", c.node_id},
      {"metrics_token", set(c.metrics_token)},
      {"admins", c.admin_emails.size()},
      {"debug_log_level",
       c.debug_log_level ? std::string(to_string(*c.debug_log_level)) : std::string("off")},
  };
}

}  // namespace parley::core
