#include "core/config.hpp"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

namespace parley::core {
namespace {

const std::string kStrongSecret(40, 'k');
const std::string kOtherSecret(40, 'j');

Result<Config> load(std::map<std::string, std::string> vars) {
  return load_config(Environment(std::move(vars)));
}

// Asserts that loading fails and the one-line message names `variable`.
void expect_rejected(std::map<std::string, std::string> vars, const std::string& variable) {
  auto config = load(vars);
  ASSERT_FALSE(config) << "expected " << variable << " to be rejected";
  EXPECT_EQ(config.error().code, Errc::validation_failed);
  EXPECT_TRUE(config.error().message.starts_with(variable + " "))
      << "message should start with the variable name: " << config.error().message;
  EXPECT_EQ(config.error().message.find('\n'), std::string::npos);
}

TEST(Config, DefaultsWorkWithNoConfigurationAtAll) {
  auto config = load({});
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->mode, RunMode::development);
  EXPECT_EQ(config->database_url, "sqlite:///instance/parley.db");
  EXPECT_EQ(config->port, 5000);
  EXPECT_EQ(config->bind_address, "127.0.0.1");
  EXPECT_GE(config->threads, 1u);
  EXPECT_TRUE(config->secrets_generated);
  EXPECT_EQ(config->secret_key.size(), 64u);
  EXPECT_NE(config->secret_key, config->jwt_secret_key);
  EXPECT_EQ(config->frontend_url, config->backend_url);
  ASSERT_EQ(config->cors_origins.size(), 1u);
  EXPECT_EQ(config->cors_origins[0], "http://localhost:5000");
  EXPECT_EQ(config->log_level, LogLevel::info);
}

TEST(Config, ReadsTheOriginalVariableNames) {
  auto config = load({{"FLASK_ENV", "production"},
                      {"SECRET_KEY", kStrongSecret},
                      {"JWT_SECRET_KEY", kOtherSecret},
                      {"DATABASE_URL", "postgresql://u:p@db:5432/parley"},
                      {"GOOGLE_CLIENT_ID", "id.apps.googleusercontent.com"},
                      {"GOOGLE_CLIENT_SECRET", "gsecret"},
                      {"STRIPE_SECRET_KEY", "sk_test_123"},
                      {"STRIPE_PUBLISHABLE_KEY", "pk_test_123"},
                      {"OPENAI_API_KEY", "sk-openai"},
                      {"ELEVENLABS_API_KEY", "el-key"},
                      {"FRONTEND_URL", "https://app.example.com/"},
                      {"BACKEND_URL", "https://api.example.com"}});
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->mode, RunMode::production);
  EXPECT_FALSE(config->secrets_generated);
  EXPECT_EQ(config->database_url, "postgresql://u:p@db:5432/parley");
  EXPECT_EQ(config->frontend_url, "https://app.example.com");
  EXPECT_EQ(config->cors_origins.at(0), "https://app.example.com");
  EXPECT_EQ(config->stripe_publishable_key, "pk_test_123");
  EXPECT_EQ(config->google_client_id, "id.apps.googleusercontent.com");
}

TEST(Config, ReadsParleysOwnVariables) {
  auto config = load({{"PARLEY_BIND", "0.0.0.0"},
                      {"PARLEY_PORT", "0"},
                      {"PARLEY_THREADS", "3"},
                      {"PARLEY_WORKERS", "5"},
                      {"LOG_LEVEL", "debug"},
                      {"UPLOAD_DIR", "/var/lib/parley/uploads"},
                      {"PARLEY_MAX_BODY_BYTES", "2048"},
                      {"PARLEY_READ_TIMEOUT_MS", "1500"},
                      {"PARLEY_CORS_ORIGINS", "http://a.test:8080, https://B.test"},
                      {"REDIS_URL", "redis://127.0.0.1:6379/0"}});
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->bind_address, "0.0.0.0");
  EXPECT_EQ(config->port, 0);
  EXPECT_EQ(config->threads, 3u);
  EXPECT_EQ(config->worker_threads, 5u);
  EXPECT_EQ(config->log_level, LogLevel::debug);
  EXPECT_EQ(config->upload_dir, "/var/lib/parley/uploads");
  EXPECT_EQ(config->max_body_bytes, 2048u);
  EXPECT_EQ(config->read_timeout.count(), 1500);
  ASSERT_EQ(config->cors_origins.size(), 3u);
  EXPECT_EQ(config->cors_origins[1], "http://a.test:8080");
  EXPECT_EQ(config->cors_origins[2], "https://b.test");
  EXPECT_EQ(config->redis_url, "redis://127.0.0.1:6379/0");
}

TEST(Config, EveryValidationErrorNamesItsVariable) {
  expect_rejected({{"FLASK_ENV", "staging"}}, "FLASK_ENV");
  expect_rejected({{"PARLEY_ENV", "prod"}}, "PARLEY_ENV");
  expect_rejected({{"PARLEY_PORT", "abc"}}, "PARLEY_PORT");
  expect_rejected({{"PARLEY_PORT", "70000"}}, "PARLEY_PORT");
  expect_rejected({{"PARLEY_PORT", "-1"}}, "PARLEY_PORT");
  expect_rejected({{"PARLEY_PORT", "80x"}}, "PARLEY_PORT");
  expect_rejected({{"PARLEY_THREADS", "0"}}, "PARLEY_THREADS");
  expect_rejected({{"PARLEY_WORKERS", "many"}}, "PARLEY_WORKERS");
  expect_rejected({{"PARLEY_WORKER_QUEUE", "0"}}, "PARLEY_WORKER_QUEUE");
  expect_rejected({{"PARLEY_DB_POOL_SIZE", "0"}}, "PARLEY_DB_POOL_SIZE");
  expect_rejected({{"PARLEY_BIND", "localhost:80"}}, "PARLEY_BIND");
  expect_rejected({{"DATABASE_URL", "mysql://x"}}, "DATABASE_URL");
  expect_rejected({{"REDIS_URL", "http://x"}}, "REDIS_URL");
  expect_rejected({{"FRONTEND_URL", "not a url"}}, "FRONTEND_URL");
  expect_rejected({{"FRONTEND_URL", "ftp://files.example.com"}}, "FRONTEND_URL");
  expect_rejected({{"BACKEND_URL", "localhost:5000"}}, "BACKEND_URL");
  expect_rejected({{"PARLEY_CORS_ORIGINS", "https://ok.test,bad"}}, "PARLEY_CORS_ORIGINS");
  expect_rejected({{"LOG_LEVEL", "verbose"}}, "LOG_LEVEL");
  expect_rejected({{"UPLOAD_DIR", "  "}}, "UPLOAD_DIR");
  expect_rejected({{"PARLEY_MAX_BODY_BYTES", "10"}}, "PARLEY_MAX_BODY_BYTES");
  expect_rejected({{"PARLEY_MAX_HEADER_BYTES", "1"}}, "PARLEY_MAX_HEADER_BYTES");
  expect_rejected({{"PARLEY_MAX_UPLOAD_BYTES", "x"}}, "PARLEY_MAX_UPLOAD_BYTES");
  expect_rejected({{"PARLEY_READ_TIMEOUT_MS", "0"}}, "PARLEY_READ_TIMEOUT_MS");
  expect_rejected({{"PARLEY_IDLE_TIMEOUT_MS", "soon"}}, "PARLEY_IDLE_TIMEOUT_MS");
  expect_rejected({{"PARLEY_REQUEST_TIMEOUT_MS", "-5"}}, "PARLEY_REQUEST_TIMEOUT_MS");
  expect_rejected({{"PARLEY_SHUTDOWN_TIMEOUT_MS", ""}}, "PARLEY_SHUTDOWN_TIMEOUT_MS");
  expect_rejected({{"GOOGLE_CLIENT_ID", "only-the-id"}}, "GOOGLE_CLIENT_SECRET");
  expect_rejected({{"GOOGLE_CLIENT_SECRET", "only-the-secret"}}, "GOOGLE_CLIENT_ID");
  expect_rejected({{"GOOGLE_DISCOVERY_URL", "nope"}}, "GOOGLE_DISCOVERY_URL");
  expect_rejected({{"STRIPE_SECRET_KEY", "pk_test_wrong_kind"}}, "STRIPE_SECRET_KEY");
  expect_rejected({{"STRIPE_PUBLISHABLE_KEY", "sk_test_wrong_kind"}}, "STRIPE_PUBLISHABLE_KEY");
  expect_rejected({{"STRIPE_WEBHOOK_SECRET", "secret"}}, "STRIPE_WEBHOOK_SECRET");
  expect_rejected({{"STRIPE_API_BASE", "stripe"}}, "STRIPE_API_BASE");
  expect_rejected({{"OPENAI_BASE_URL", "/v1"}}, "OPENAI_BASE_URL");
  expect_rejected({{"ELEVENLABS_BASE_URL", "x"}}, "ELEVENLABS_BASE_URL");
  expect_rejected({{"PARLEY_PROTOCOL_CONFORMANCE", "yes"}}, "PARLEY_PROTOCOL_CONFORMANCE");
  expect_rejected({{"PARLEY_WS_COMPRESSION", "on"}}, "PARLEY_WS_COMPRESSION");
  expect_rejected({{"JWT_SECRET_KEY", "too-short-even-in-development"}}, "JWT_SECRET_KEY");
  expect_rejected({{"PARLEY_BCRYPT_COST", "3"}}, "PARLEY_BCRYPT_COST");
  expect_rejected({{"PARLEY_BCRYPT_COST", "32"}}, "PARLEY_BCRYPT_COST");
  expect_rejected({{"BCRYPT_HANDLE_LONG_PASSWORDS", "maybe"}}, "BCRYPT_HANDLE_LONG_PASSWORDS");
  expect_rejected({{"PARLEY_ACCESS_TOKEN_TTL_S", "5"}}, "PARLEY_ACCESS_TOKEN_TTL_S");
  expect_rejected({{"PARLEY_REFRESH_TOKEN_TTL_S", "x"}}, "PARLEY_REFRESH_TOKEN_TTL_S");
  expect_rejected({{"PARLEY_GUEST_IDLE_TTL_S", "0"}}, "PARLEY_GUEST_IDLE_TTL_S");
  expect_rejected({{"PARLEY_LOGIN_PER_MINUTE", "0"}}, "PARLEY_LOGIN_PER_MINUTE");
  expect_rejected({{"PARLEY_REGISTER_PER_HOUR", "-1"}}, "PARLEY_REGISTER_PER_HOUR");
  expect_rejected({{"PARLEY_GUESTS_PER_HOUR", "lots"}}, "PARLEY_GUESTS_PER_HOUR");
  expect_rejected({{"PARLEY_MAX_AVATAR_BYTES", "12"}}, "PARLEY_MAX_AVATAR_BYTES");
  expect_rejected({{"PARLEY_SOCKET_EVENTS_PER_SECOND", "0"}}, "PARLEY_SOCKET_EVENTS_PER_SECOND");
  expect_rejected({{"PARLEY_SOCKET_CONNECT_TIMEOUT_MS", "never"}},
                  "PARLEY_SOCKET_CONNECT_TIMEOUT_MS");
  expect_rejected({{"PARLEY_PING_INTERVAL_MS", "0"}}, "PARLEY_PING_INTERVAL_MS");
  expect_rejected({{"PARLEY_SOCKET_MAX_BUFFERED_BYTES", "1000"}},
                  "PARLEY_SOCKET_MAX_BUFFERED_BYTES");
  // A cheap bcrypt cost is a development convenience only.
  expect_rejected({{"FLASK_ENV", "production"},
                   {"SECRET_KEY", kStrongSecret},
                   {"JWT_SECRET_KEY", kOtherSecret},
                   {"PARLEY_BCRYPT_COST", "4"}},
                  "PARLEY_BCRYPT_COST");
}

TEST(Config, AccountSettings) {
  auto config = load({{"PARLEY_BCRYPT_COST", "4"},
                      {"BCRYPT_HANDLE_LONG_PASSWORDS", "True"},
                      {"PARLEY_ACCESS_TOKEN_TTL_S", "120"},
                      {"PARLEY_REGISTER_PER_HOUR", "1000"}});
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->bcrypt_cost, 4);
  EXPECT_TRUE(config->bcrypt_legacy_long_passwords);
  EXPECT_EQ(config->access_token_ttl.count(), 120);
  EXPECT_EQ(config->register_per_hour, 1000u);
  EXPECT_EQ(load({})->bcrypt_cost, 12);
}

TEST(Config, ProductionRefusesMissingDefaultOrWeakSecrets) {
  const std::map<std::string, std::string> prod{{"FLASK_ENV", "production"}};
  auto with = [&](std::map<std::string, std::string> extra) {
    auto vars = prod;
    vars.insert(extra.begin(), extra.end());
    return vars;
  };
  expect_rejected(prod, "SECRET_KEY");
  expect_rejected(with({{"SECRET_KEY", kStrongSecret}}), "JWT_SECRET_KEY");
  expect_rejected(with({{"SECRET_KEY", "your-secret-key-here"}, {"JWT_SECRET_KEY", kOtherSecret}}),
                  "SECRET_KEY");
  expect_rejected(with({{"SECRET_KEY", kStrongSecret}, {"JWT_SECRET_KEY", "your-jwt-secret-key"}}),
                  "JWT_SECRET_KEY");
  expect_rejected(with({{"SECRET_KEY", "short"}, {"JWT_SECRET_KEY", kOtherSecret}}), "SECRET_KEY");
  expect_rejected(with({{"SECRET_KEY", kStrongSecret}, {"JWT_SECRET_KEY", kStrongSecret}}),
                  "JWT_SECRET_KEY");
  expect_rejected(with({{"SECRET_KEY", kStrongSecret},
                        {"JWT_SECRET_KEY", kOtherSecret},
                        {"PARLEY_PROTOCOL_CONFORMANCE", "1"}}),
                  "PARLEY_PROTOCOL_CONFORMANCE");
  // PARLEY_ENV wins over FLASK_ENV.
  auto dev = load({{"FLASK_ENV", "production"}, {"PARLEY_ENV", "development"}});
  ASSERT_TRUE(dev);
  EXPECT_EQ(dev->mode, RunMode::development);
  expect_rejected({{"PARLEY_ENV", "production"}}, "SECRET_KEY");
}

TEST(Config, SecretsNeverAppearInMessagesOrTheDescription) {
  const std::string secret = "sk_live_" + std::string(40, 'z');
  auto config = load({{"SECRET_KEY", kStrongSecret},
                      {"JWT_SECRET_KEY", kOtherSecret},
                      {"STRIPE_SECRET_KEY", secret},
                      {"OPENAI_API_KEY", "sk-openai-secret-value"},
                      {"DATABASE_URL", "postgresql://user:db-password@host/db"}});
  ASSERT_TRUE(config);
  const auto text = boost::json::serialize(describe(*config));
  for (const std::string& s : {kStrongSecret, kOtherSecret, secret,
                               std::string("sk-openai-secret-value"), std::string("db-password")}) {
    EXPECT_EQ(text.find(s), std::string::npos) << "leaked: " << s;
  }
  EXPECT_NE(text.find("\"stripe\":\"(set)\""), std::string::npos);

  auto bad = load({{"SECRET_KEY", kStrongSecret}, {"STRIPE_SECRET_KEY", "oops_" + kOtherSecret}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message.find(kOtherSecret), std::string::npos);
}

TEST(Config, PaymentsSettings) {
  auto defaults = load({});
  ASSERT_TRUE(defaults) << defaults.error().message;
  EXPECT_TRUE(defaults->stripe_webhook_secrets.empty());
  EXPECT_EQ(defaults->stripe_api_base, "https://api.stripe.com");
  EXPECT_EQ(defaults->free_speech_minutes_per_day, 10);
  EXPECT_EQ(defaults->free_translated_chars_per_day, 5'000);
  EXPECT_EQ(defaults->free_max_room_members, 20);
  EXPECT_EQ(defaults->paid_speech_minutes_per_day, 240);
  EXPECT_EQ(defaults->paid_translated_chars_per_day, 500'000);
  EXPECT_EQ(defaults->paid_max_room_members, 500);

  auto config = load({{"STRIPE_WEBHOOK_SECRET", " whsec_new , whsec_old,"},
                      {"STRIPE_PRICE_MONTHLY", "price_m"},
                      {"STRIPE_PRICE_YEARLY", " price_y "},
                      {"STRIPE_API_BASE", "http://127.0.0.1:12111/"},
                      {"PARLEY_FREE_SPEECH_MINUTES_PER_DAY", "0"},
                      {"PARLEY_FREE_TRANSLATED_CHARS_PER_DAY", "100"},
                      {"PARLEY_FREE_MAX_ROOM_MEMBERS", "2"},
                      {"PARLEY_PAID_SPEECH_MINUTES_PER_DAY", "1440"},
                      {"PARLEY_PAID_TRANSLATED_CHARS_PER_DAY", "1000000000"},
                      {"PARLEY_PAID_MAX_ROOM_MEMBERS", "1000000"}});
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->stripe_webhook_secrets, (std::vector<std::string>{"whsec_new", "whsec_old"}));
  EXPECT_EQ(config->stripe_price_monthly, "price_m");
  EXPECT_EQ(config->stripe_price_yearly, "price_y");
  EXPECT_EQ(config->stripe_api_base, "http://127.0.0.1:12111");
  EXPECT_EQ(config->free_speech_minutes_per_day, 0);
  EXPECT_EQ(config->free_translated_chars_per_day, 100);
  EXPECT_EQ(config->free_max_room_members, 2);
  EXPECT_EQ(config->paid_speech_minutes_per_day, 1440);
  EXPECT_EQ(config->paid_translated_chars_per_day, 1'000'000'000);
  EXPECT_EQ(config->paid_max_room_members, 1'000'000);
  auto single = load({{"STRIPE_WEBHOOK_SECRET", "whsec_only"}});
  ASSERT_TRUE(single);
  EXPECT_EQ(single->stripe_webhook_secrets, (std::vector<std::string>{"whsec_only"}));

  expect_rejected({{"STRIPE_WEBHOOK_SECRET", "whsec_a,secret"}}, "STRIPE_WEBHOOK_SECRET");
  expect_rejected({{"STRIPE_WEBHOOK_SECRET", "whsec_"}}, "STRIPE_WEBHOOK_SECRET");
  expect_rejected({{"STRIPE_WEBHOOK_SECRET", "whsec_a b"}}, "STRIPE_WEBHOOK_SECRET");
  expect_rejected({{"STRIPE_PRICE_MONTHLY", "price_a,price_b"}}, "STRIPE_PRICE_MONTHLY");
  expect_rejected({{"STRIPE_PRICE_YEARLY", "price a"}}, "STRIPE_PRICE_YEARLY");
  expect_rejected({{"STRIPE_PRICE_MONTHLY", "price_same"}, {"STRIPE_PRICE_YEARLY", "price_same"}},
                  "STRIPE_PRICE_YEARLY");
  expect_rejected({{"PARLEY_FREE_SPEECH_MINUTES_PER_DAY", "1441"}},
                  "PARLEY_FREE_SPEECH_MINUTES_PER_DAY");
  expect_rejected({{"PARLEY_FREE_SPEECH_MINUTES_PER_DAY", "-1"}},
                  "PARLEY_FREE_SPEECH_MINUTES_PER_DAY");
  expect_rejected({{"PARLEY_FREE_TRANSLATED_CHARS_PER_DAY", "lots"}},
                  "PARLEY_FREE_TRANSLATED_CHARS_PER_DAY");
  expect_rejected({{"PARLEY_FREE_MAX_ROOM_MEMBERS", "1"}}, "PARLEY_FREE_MAX_ROOM_MEMBERS");
  expect_rejected({{"PARLEY_PAID_SPEECH_MINUTES_PER_DAY", "x"}},
                  "PARLEY_PAID_SPEECH_MINUTES_PER_DAY");
  expect_rejected({{"PARLEY_PAID_TRANSLATED_CHARS_PER_DAY", "1000000001"}},
                  "PARLEY_PAID_TRANSLATED_CHARS_PER_DAY");
  expect_rejected({{"PARLEY_PAID_MAX_ROOM_MEMBERS", "1000001"}}, "PARLEY_PAID_MAX_ROOM_MEMBERS");
  // A paid plan never allows less than the free one.
  expect_rejected({{"PARLEY_FREE_SPEECH_MINUTES_PER_DAY", "300"}},
                  "PARLEY_PAID_SPEECH_MINUTES_PER_DAY");
  expect_rejected({{"PARLEY_FREE_MAX_ROOM_MEMBERS", "50"}, {"PARLEY_PAID_MAX_ROOM_MEMBERS", "49"}},
                  "PARLEY_PAID_MAX_ROOM_MEMBERS");
}

TEST(Config, OperationsSettings) {
  auto defaults = load({});
  ASSERT_TRUE(defaults) << defaults.error().message;
  EXPECT_FALSE(defaults->node_id.empty()) << "host name and process id";
  EXPECT_TRUE(defaults->metrics_token.empty());
  EXPECT_TRUE(defaults->admin_emails.empty());
  EXPECT_FALSE(defaults->debug_log_level) << "the debug_log table is off unless asked for";
  EXPECT_EQ(defaults->metrics_sample_interval, std::chrono::seconds(60));
  EXPECT_EQ(defaults->redis_timeout, std::chrono::milliseconds(1000));

  auto config = load({{"PARLEY_NODE_ID", "web-2.eu"},
                      {"PARLEY_METRICS_TOKEN", "a-scraper-token-0123"},
                      {"PARLEY_ADMIN_EMAILS", " Ops@Example.org ,, root@example.org"},
                      {"PARLEY_METRICS_SAMPLE_SECONDS", "15"},
                      {"PARLEY_METRICS_RETENTION_DAYS", "7"},
                      {"PARLEY_DEBUG_LOG_LEVEL", "warning"},
                      {"PARLEY_DEBUG_LOG_RETENTION_DAYS", "2"},
                      {"PARLEY_REDIS_TIMEOUT_MS", "250"},
                      {"REDIS_URL", "redis://:pw@127.0.0.1:6380/1"}});
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->node_id, "web-2.eu");
  EXPECT_EQ(config->metrics_token, "a-scraper-token-0123");
  EXPECT_EQ(config->admin_emails,
            (std::vector<std::string>{"ops@example.org", "root@example.org"}));
  EXPECT_EQ(config->metrics_sample_interval, std::chrono::seconds(15));
  EXPECT_EQ(config->metrics_retention, std::chrono::hours(7 * 24));
  EXPECT_EQ(config->debug_log_level, LogLevel::warning);
  EXPECT_EQ(config->debug_log_retention, std::chrono::hours(2 * 24));
  EXPECT_EQ(config->redis_timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(load({{"PARLEY_DEBUG_LOG_LEVEL", "OFF"}})->debug_log_level, std::nullopt);
  const auto described = boost::json::serialize(describe(*config));
  EXPECT_EQ(described.find("a-scraper-token-0123"), std::string::npos);
  EXPECT_EQ(described.find(":pw@"), std::string::npos);

  expect_rejected({{"PARLEY_NODE_ID", "has space"}}, "PARLEY_NODE_ID");
  expect_rejected({{"PARLEY_NODE_ID", std::string(65, 'n')}}, "PARLEY_NODE_ID");
  expect_rejected({{"PARLEY_METRICS_TOKEN", "short"}}, "PARLEY_METRICS_TOKEN");
  expect_rejected({{"PARLEY_ADMIN_EMAILS", "not-an-email"}}, "PARLEY_ADMIN_EMAILS");
  expect_rejected({{"PARLEY_METRICS_SAMPLE_SECONDS", "0"}}, "PARLEY_METRICS_SAMPLE_SECONDS");
  expect_rejected({{"PARLEY_METRICS_RETENTION_DAYS", "-1"}}, "PARLEY_METRICS_RETENTION_DAYS");
  expect_rejected({{"PARLEY_DEBUG_LOG_LEVEL", "loud"}}, "PARLEY_DEBUG_LOG_LEVEL");
  expect_rejected({{"PARLEY_DEBUG_LOG_RETENTION_DAYS", "9999"}}, "PARLEY_DEBUG_LOG_RETENTION_DAYS");
  expect_rejected({{"PARLEY_REDIS_TIMEOUT_MS", "5"}}, "PARLEY_REDIS_TIMEOUT_MS");
  expect_rejected({{"REDIS_URL", "http://cache"}}, "REDIS_URL");
}

}  // namespace
}  // namespace parley::core
