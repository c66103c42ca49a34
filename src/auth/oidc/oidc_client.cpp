#include "auth/oidc/oidc_client.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <charconv>
#include <stdexcept>

#include "core/base64.hpp"
#include "core/random.hpp"

namespace parley::auth::oidc {

namespace json = boost::json;
using outbound::HttpRequest;
using outbound::HttpResponse;

namespace {

constexpr std::int64_t kDiscoveryTtlMs = 24LL * 3600 * 1000;
constexpr std::int64_t kDefaultJwksTtlMs = 3600LL * 1000;
// Bounds on the provider's Cache-Control: at least a minute, so max-age=0 cannot turn every
// login into a JWKS request; at most a day, so a rotated-out key does not linger for long.
constexpr std::int64_t kMinJwksTtlMs = 60LL * 1000;
constexpr std::int64_t kMaxJwksTtlMs = 24LL * 3600 * 1000;
// An unknown kid may mean the provider rotated keys; refetch, but at most this often, so that
// tokens with made-up kids cannot make us hammer the provider.
constexpr std::int64_t kUnknownKidRefetchMs = 60LL * 1000;

constexpr std::size_t kRandomBytes = 32;
constexpr std::size_t kMaxCodeBytes = 4096;
constexpr std::size_t kMaxDocumentBytes = 512 * 1024;

bool is_loopback_host(std::string_view host) {
  return host == "127.0.0.1" || host == "localhost" || host == "[::1]" || host == "::1";
}

/// Provider URLs must be absolute https (http only on loopback, for tests) without a fragment.
bool acceptable_provider_url(std::string_view text) {
  const auto parsed = boost::urls::parse_absolute_uri(text);
  if (!parsed || parsed->has_fragment() || parsed->encoded_host().empty()) return false;
  if (parsed->scheme() == "https") return true;
  return parsed->scheme() == "http" && is_loopback_host(parsed->encoded_host());
}

std::optional<std::string> string_member(const json::object& object, std::string_view name) {
  const auto* value = object.if_contains(name);
  if (value == nullptr || !value->is_string()) return std::nullopt;
  return std::string(value->get_string());
}

/// True if `name` is absent (the spec's default applies) or a JSON array containing `wanted`.
bool absent_or_lists(const json::object& object, std::string_view name, std::string_view wanted) {
  const auto* value = object.if_contains(name);
  if (value == nullptr) return true;
  if (!value->is_array()) return false;
  const auto& array = value->get_array();
  return std::any_of(array.begin(), array.end(), [&](const json::value& entry) {
    return entry.is_string() && entry.get_string() == wanted;
  });
}

bool lists(const json::object& object, std::string_view name, std::string_view wanted) {
  return object.contains(name) && absent_or_lists(object, name, wanted);
}

/// Cache lifetime from a Cache-Control header: max-age if present (clamped), else the default.
std::int64_t cache_lifetime_ms(const HttpResponse& response) {
  const auto header = response.headers.find("Cache-Control");
  if (!header) return kDefaultJwksTtlMs;
  std::string lower(*header);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) {
    return static_cast<char>((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
  });
  if (lower.find("no-store") != std::string::npos || lower.find("no-cache") != std::string::npos) {
    return kMinJwksTtlMs;
  }
  const auto at = lower.find("max-age=");
  if (at == std::string::npos) return kDefaultJwksTtlMs;
  const char* first = lower.data() + at + 8;
  const char* last = lower.data() + lower.size();
  std::int64_t seconds = 0;
  const auto [end, ec] = std::from_chars(first, last, seconds);
  if (ec != std::errc{} || end == first || seconds < 0) return kDefaultJwksTtlMs;
  if (seconds > kMaxJwksTtlMs / 1000) return kMaxJwksTtlMs;
  return std::clamp(seconds * 1000, kMinJwksTtlMs, kMaxJwksTtlMs);
}

/// The OAuth error code from a token-endpoint error body, if it is a plain token (it ends up in
/// logs, so nothing provider-controlled beyond [a-z_] gets through).
std::string oauth_error_code(const HttpResponse& response) {
  boost::system::error_code ec;
  const json::value body = json::parse(response.body, ec);
  if (ec || !body.is_object()) return {};
  const auto code = string_member(body.get_object(), "error");
  if (!code || code->size() > 64 || !std::all_of(code->begin(), code->end(), [](char c) {
        return (c >= 'a' && c <= 'z') || c == '_';
      })) {
    return {};
  }
  return *code;
}

std::string s256_challenge(std::string_view verifier) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(verifier.data(), verifier.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed");  // the crypto library itself is broken
  }
  return core::base64url_encode(
      std::string_view(reinterpret_cast<const char*>(digest), static_cast<std::size_t>(length)));
}

/// RFC 7636 §4.1: 43-128 characters of [A-Z a-z 0-9 - . _ ~].
bool valid_code_verifier(std::string_view verifier) {
  return verifier.size() >= 43 && verifier.size() <= 128 &&
         std::all_of(verifier.begin(), verifier.end(), [](char c) {
           return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.' || c == '_' || c == '~';
         });
}

}  // namespace

struct OidcClient::Discovery {
  std::string issuer;
  std::string authorization_endpoint;
  std::string token_endpoint;
  std::string jwks_uri;
  TokenEndpointAuth token_auth = TokenEndpointAuth::client_secret_basic;
};

struct OidcClient::KeyCache {
  std::string jwks_uri;  // keys belong to this URL; a new discovery document may change it
  std::shared_ptr<const JsonWebKeySet> keys;
  std::int64_t expires_ms = 0;
  std::int64_t last_fetch_ms = 0;
};

OidcSettings OidcSettings::google(std::string client_id, std::string client_secret,
                                  std::string redirect_uri) {
  OidcSettings settings;
  settings.discovery_url = "https://accounts.google.com/.well-known/openid-configuration";
  settings.client_id = std::move(client_id);
  settings.client_secret = std::move(client_secret);
  settings.redirect_uri = std::move(redirect_uri);
  settings.allowed_issuers = {"https://accounts.google.com", "accounts.google.com"};
  return settings;
}

OidcClient::OidcClient(outbound::HttpClient& http, const core::Clock& clock, OidcSettings settings)
    : http_(http),
      clock_(clock),
      settings_(std::move(settings)),
      keys_(std::make_unique<KeyCache>()) {
  if (!acceptable_provider_url(settings_.discovery_url)) {
    throw std::invalid_argument("OIDC discovery_url must be an https URL");
  }
  if (settings_.client_id.empty() || settings_.redirect_uri.empty()) {
    throw std::invalid_argument("OIDC client_id and redirect_uri are required");
  }
  if (settings_.allowed_issuers.empty()) {
    throw std::invalid_argument("OIDC allowed_issuers must not be empty");
  }
  if (settings_.scopes.find("openid") == std::string::npos) {
    throw std::invalid_argument("OIDC scopes must include openid");
  }
  if (settings_.clock_leeway < std::chrono::seconds(0) ||
      settings_.clock_leeway > std::chrono::seconds(60)) {
    throw std::invalid_argument("OIDC clock_leeway must be between 0 and 60 s");
  }
  if (settings_.http_timeout.count() <= 0) {
    throw std::invalid_argument("OIDC http_timeout must be positive");
  }
}

OidcClient::~OidcClient() = default;

Result<HttpResponse> OidcClient::fetch(HttpRequest request, std::string_view what) {
  request.timeout = settings_.http_timeout;
  auto response = http_.send(request);
  if (!response) {
    const auto& error = response.error();
    if (error.code == Errc::invalid_request || error.code == Errc::payload_too_large) {
      return oidc_error(OidcFailure::provider_misconfigured,
                        std::string(what) + ": " + error.message);
    }
    return oidc_error(OidcFailure::provider_unavailable, std::string(what) + ": " + error.message);
  }
  return response;
}

Result<std::shared_ptr<const OidcClient::Discovery>> OidcClient::discovery() {
  std::lock_guard lock(discovery_mutex_);
  const std::int64_t now = clock_.now_ms();
  if (discovery_ && now < discovery_expires_ms_) return discovery_;

  HttpRequest request;
  request.url = settings_.discovery_url;
  request.headers.add("Accept", "application/json");
  request.max_response_bytes = kMaxDocumentBytes;
  auto fetched = [&]() -> Result<std::shared_ptr<const Discovery>> {
    auto response = fetch(std::move(request), "discovery");
    if (!response) return response.error();
    if (response->status != 200) {
      return oidc_error(response->status >= 500 ? OidcFailure::provider_unavailable
                                                : OidcFailure::provider_misconfigured,
                        "discovery returned HTTP " + std::to_string(response->status));
    }
    boost::system::error_code ec;
    const json::value document = json::parse(response->body, ec);
    if (ec || !document.is_object()) {
      return oidc_error(OidcFailure::provider_misconfigured, "discovery is not a JSON object");
    }
    const auto& object = document.get_object();
    auto provider = std::make_shared<Discovery>();
    const auto issuer = string_member(object, "issuer");
    if (!issuer || std::find(settings_.allowed_issuers.begin(), settings_.allowed_issuers.end(),
                             *issuer) == settings_.allowed_issuers.end()) {
      return oidc_error(OidcFailure::provider_misconfigured, "discovery issuer not allowed");
    }
    provider->issuer = *issuer;
    for (auto [name, target] :
         {std::pair{"authorization_endpoint", &provider->authorization_endpoint},
          std::pair{"token_endpoint", &provider->token_endpoint},
          std::pair{"jwks_uri", &provider->jwks_uri}}) {
      auto value = string_member(object, name);
      if (!value || !acceptable_provider_url(*value)) {
        return oidc_error(OidcFailure::provider_misconfigured,
                          std::string("discovery ") + name + " missing or not https");
      }
      *target = std::move(*value);
    }
    if (!absent_or_lists(object, "id_token_signing_alg_values_supported", "RS256") ||
        !absent_or_lists(object, "code_challenge_methods_supported", "S256")) {
      return oidc_error(OidcFailure::provider_misconfigured, "provider lacks RS256 or S256");
    }
    // RFC 8414: an absent list means client_secret_basic only.
    switch (settings_.token_endpoint_auth) {
      case TokenEndpointAuth::automatic:
        provider->token_auth =
            absent_or_lists(object, "token_endpoint_auth_methods_supported", "client_secret_basic")
                ? TokenEndpointAuth::client_secret_basic
                : TokenEndpointAuth::client_secret_post;
        if (provider->token_auth == TokenEndpointAuth::client_secret_post &&
            !lists(object, "token_endpoint_auth_methods_supported", "client_secret_post")) {
          return oidc_error(OidcFailure::provider_misconfigured,
                            "provider supports neither client_secret_basic nor _post");
        }
        break;
      default:
        provider->token_auth = settings_.token_endpoint_auth;
    }
    return std::shared_ptr<const Discovery>(std::move(provider));
  }();
  if (!fetched) {
    // A stale document beats none: endpoints change far less often than providers hiccup.
    if (discovery_) return discovery_;
    return fetched.error();
  }
  discovery_ = std::move(*fetched);
  discovery_expires_ms_ = now + kDiscoveryTtlMs;
  return discovery_;
}

Result<AuthorizationStart> OidcClient::start() {
  auto provider = discovery();
  if (!provider) return provider.error();

  AuthorizationStart result;
  result.state = core::random_token(kRandomBytes);
  result.nonce = core::random_token(kRandomBytes);
  result.code_verifier = core::random_token(kRandomBytes);

  const std::string query = outbound::form_encode({
      {"response_type", "code"},
      {"client_id", settings_.client_id},
      {"redirect_uri", settings_.redirect_uri},
      {"scope", settings_.scopes},
      {"state", result.state},
      {"nonce", result.nonce},
      {"code_challenge", s256_challenge(result.code_verifier)},
      {"code_challenge_method", "S256"},
  });
  boost::urls::url url((*provider)->authorization_endpoint);  // validated in discovery()
  const std::string existing(url.encoded_query());
  url.set_encoded_query(existing.empty() ? query : existing + "&" + query);
  result.authorization_url = std::string(url.buffer());
  return result;
}

Result<VerifiedIdentity> OidcClient::finish(std::string_view code, std::string_view code_verifier,
                                            std::string_view expected_nonce) {
  if (code.empty() || code.size() > kMaxCodeBytes) {
    return oidc_error(OidcFailure::invalid_request, "code missing or too long");
  }
  if (!valid_code_verifier(code_verifier)) {
    return oidc_error(OidcFailure::invalid_request, "code_verifier malformed");
  }
  if (expected_nonce.empty()) return oidc_error(OidcFailure::invalid_request, "nonce missing");

  auto provider = discovery();
  if (!provider) return provider.error();

  std::vector<std::pair<std::string, std::string>> form = {
      {"grant_type", "authorization_code"},          {"code", std::string(code)},
      {"redirect_uri", settings_.redirect_uri},      {"client_id", settings_.client_id},
      {"code_verifier", std::string(code_verifier)},
  };
  HttpRequest request;
  request.method = "POST";
  request.url = (*provider)->token_endpoint;
  request.headers.add("Content-Type", "application/x-www-form-urlencoded");
  request.headers.add("Accept", "application/json");
  if ((*provider)->token_auth == TokenEndpointAuth::client_secret_post) {
    form.emplace_back("client_secret", settings_.client_secret);
  } else {
    // RFC 6749 §2.3.1: both parts form-urlencoded before base64.
    request.headers.add(
        "Authorization",
        "Basic " + core::base64_encode(outbound::percent_encode(settings_.client_id) + ":" +
                                       outbound::percent_encode(settings_.client_secret)));
  }
  request.body = outbound::form_encode(form);
  request.max_response_bytes = kMaxDocumentBytes;

  auto response = fetch(std::move(request), "token endpoint");
  if (!response) return response.error();
  if (response->status >= 500) {
    return oidc_error(OidcFailure::provider_unavailable,
                      "token endpoint returned HTTP " + std::to_string(response->status));
  }
  if (response->status != 200) {
    const std::string oauth_error = oauth_error_code(*response);
    return oidc_error(OidcFailure::token_exchange_failed,
                      "token endpoint returned HTTP " + std::to_string(response->status) +
                          (oauth_error.empty() ? "" : " " + oauth_error));
  }
  boost::system::error_code ec;
  const json::value body = json::parse(response->body, ec);
  if (ec || !body.is_object()) {
    return oidc_error(OidcFailure::token_exchange_failed, "token response is not JSON");
  }
  const auto id_token = string_member(body.get_object(), "id_token");
  if (!id_token) return oidc_error(OidcFailure::token_exchange_failed, "no id_token in response");
  return verify_id_token(*id_token, expected_nonce);
}

Result<std::shared_ptr<const JsonWebKeySet>> OidcClient::keys_for(
    const Discovery& provider, const std::optional<std::string>& kid) {
  auto holds_key = [&](const JsonWebKeySet& set) {
    return (kid ? set.find(*kid) : set.sole_key()) != nullptr;
  };
  std::lock_guard lock(keys_mutex_);
  KeyCache& cache = *keys_;
  const std::int64_t now = clock_.now_ms();
  const bool usable = cache.keys && cache.jwks_uri == provider.jwks_uri && now < cache.expires_ms;
  if (usable) {
    if (holds_key(*cache.keys)) return cache.keys;
    if (now - cache.last_fetch_ms < kUnknownKidRefetchMs) {
      return oidc_error(OidcFailure::unknown_signing_key);
    }
  }

  cache.last_fetch_ms = now;
  HttpRequest request;
  request.url = provider.jwks_uri;
  request.headers.add("Accept", "application/json");
  request.max_response_bytes = kMaxDocumentBytes;
  auto response = fetch(std::move(request), "jwks");
  if (!response) return response.error();
  if (response->status != 200) {
    return oidc_error(response->status >= 500 ? OidcFailure::provider_unavailable
                                              : OidcFailure::provider_misconfigured,
                      "jwks returned HTTP " + std::to_string(response->status));
  }
  auto parsed = JsonWebKeySet::parse(response->body);
  if (!parsed) return parsed.error();
  cache.jwks_uri = provider.jwks_uri;
  cache.keys = std::make_shared<const JsonWebKeySet>(std::move(*parsed));
  cache.expires_ms = now + cache_lifetime_ms(*response);
  if (!holds_key(*cache.keys)) return oidc_error(OidcFailure::unknown_signing_key);
  return cache.keys;
}

Result<VerifiedIdentity> OidcClient::verify_id_token(std::string_view id_token,
                                                     std::string_view expected_nonce) {
  if (expected_nonce.empty()) return oidc_error(OidcFailure::invalid_request, "nonce missing");
  auto jws = parse_id_token(id_token);
  if (!jws) return jws.error();

  auto provider = discovery();
  if (!provider) return provider.error();
  auto keys = keys_for(**provider, jws->key_id);
  if (!keys) return keys.error();
  const EVP_PKEY* key = jws->key_id ? (*keys)->find(*jws->key_id) : (*keys)->sole_key();
  if (key == nullptr || !verify_rs256(*key, jws->signing_input, jws->signature)) {
    return oidc_error(OidcFailure::invalid_id_token, "signature does not verify");
  }

  ClaimExpectations expected;
  expected.allowed_issuers = settings_.allowed_issuers;
  expected.client_id = settings_.client_id;
  expected.nonce = std::string(expected_nonce);
  expected.now_seconds = clock_.now_ms() / 1000;
  expected.leeway = settings_.clock_leeway;
  return check_id_token_claims(jws->claims, expected);
}

}  // namespace parley::auth::oidc
