#include "auth/access_tokens.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <array>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <cmath>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "core/base64.hpp"
#include "core/digest.hpp"
#include "core/random.hpp"

namespace parley::auth {

namespace json = boost::json;

namespace {

constexpr std::string_view kAlgorithm = "HS256";
constexpr std::string_view kAccessKind = "access";
constexpr std::size_t kMacBytes = 32;
constexpr std::size_t kMaxKidBytes = 64;
constexpr std::size_t kMaxJtiBytes = 128;
constexpr std::chrono::seconds kMaxLeeway{60};  // RFC 8725 / SECURITY.md B13
// The client sees only this, whatever failed (RFC 8725 has no need for detail; attackers do).
constexpr std::string_view kGenericFailure = "invalid or expired access token";

using core::as_chars;

bool is_printable_ascii(std::string_view s) {
  for (char c : s) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

std::optional<json::object> parse_object(std::string_view text, json::storage_ptr storage) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec, std::move(storage));
  if (ec || !value.is_object()) return std::nullopt;
  return std::move(value.as_object());
}

const json::string* string_member(const json::object& object, std::string_view key) {
  const json::value* v = object.if_contains(key);
  return v != nullptr ? v->if_string() : nullptr;
}

// A NumericDate (RFC 7519 2): an integer or a finite number of seconds; fractions are cut.
// The range bound keeps the double-to-integer conversion defined.
std::optional<std::int64_t> numeric_date(const json::object& object, std::string_view key) {
  const json::value* v = object.if_contains(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) {
    if (v->get_uint64() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return std::nullopt;
    }
    return static_cast<std::int64_t>(v->get_uint64());
  }
  if (v->is_double() && std::isfinite(v->get_double()) && std::fabs(v->get_double()) < 1e15) {
    return static_cast<std::int64_t>(std::floor(v->get_double()));
  }
  return std::nullopt;
}

// sub must be the canonical decimal form of a positive id: "7", not "07", "+7" or "7.0".
std::optional<std::int64_t> parse_user_id(std::string_view sub) {
  std::int64_t id = 0;
  const auto [end, ec] = std::from_chars(sub.data(), sub.data() + sub.size(), id);
  if (ec != std::errc() || end != sub.data() + sub.size() || id <= 0 || sub[0] == '0') {
    return std::nullopt;
  }
  return id;
}

bool iequals_ascii(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

void check_leeway(std::chrono::seconds leeway) {
  if (leeway.count() < 0 || leeway > kMaxLeeway) {
    throw std::invalid_argument("access tokens: leeway must be between 0 and 60 seconds");
  }
}

}  // namespace

std::string_view to_string(TokenRejection reason) noexcept {
  switch (reason) {
    case TokenRejection::none:
      return "none";
    case TokenRejection::malformed:
      return "malformed";
    case TokenRejection::bad_header:
      return "bad_header";
    case TokenRejection::unknown_key:
      return "unknown_key";
    case TokenRejection::bad_signature:
      return "bad_signature";
    case TokenRejection::expired:
      return "expired";
    case TokenRejection::not_yet_valid:
      return "not_yet_valid";
    case TokenRejection::wrong_issuer:
      return "wrong_issuer";
    case TokenRejection::wrong_audience:
      return "wrong_audience";
    case TokenRejection::wrong_kind:
      return "wrong_kind";
    case TokenRejection::bad_claims:
      return "bad_claims";
  }
  return "unknown";
}

// ---- AccessKeySet ----------------------------------------------------------------------------

AccessKeySet::AccessKeySet(SigningKey current, std::vector<SigningKey> previous) {
  keys_.reserve(previous.size() + 1);
  keys_.push_back(std::move(current));
  for (auto& key : previous) keys_.push_back(std::move(key));
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    const SigningKey& key = keys_[i];
    if (key.secret.size() < kMinSecretBytes) {
      throw std::invalid_argument("JWT secret must be at least 32 bytes of random data");
    }
    if (key.kid.empty() || key.kid.size() > kMaxKidBytes || !is_printable_ascii(key.kid)) {
      throw std::invalid_argument("JWT key id must be 1-64 printable ASCII characters");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (keys_[j].kid == key.kid) throw std::invalid_argument("JWT key ids must be unique");
    }
  }
  macs_.reserve(keys_.size());
  headers_.reserve(keys_.size());
  for (const SigningKey& key : keys_) {
    macs_.emplace_back(key.secret);
    const json::object header{{"alg", kAlgorithm}, {"typ", "JWT"}, {"kid", key.kid}};
    headers_.push_back(core::base64url_encode(json::serialize(header)));
  }
}

AccessKeySet AccessKeySet::from_secrets(std::string current_secret,
                                        std::vector<std::string> previous_secrets) {
  SigningKey current{derive_kid(current_secret), std::move(current_secret)};
  std::vector<SigningKey> previous;
  previous.reserve(previous_secrets.size());
  for (auto& secret : previous_secrets) {
    previous.push_back(SigningKey{derive_kid(secret), std::move(secret)});
  }
  return AccessKeySet(std::move(current), std::move(previous));
}

std::string AccessKeySet::derive_kid(std::string_view secret) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int len = 0;
  if (EVP_Digest(secret.data(), secret.size(), digest.data(), &len, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("OpenSSL: SHA-256 failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string kid;
  for (std::size_t i = 0; i < 4; ++i) {
    kid.push_back(kHex[digest[i] >> 4]);
    kid.push_back(kHex[digest[i] & 0x0f]);
  }
  return kid;
}

const SigningKey* AccessKeySet::find(std::string_view kid) const noexcept {
  for (const SigningKey& key : keys_) {
    if (key.kid == kid) return &key;
  }
  return nullptr;
}

std::size_t AccessKeySet::index_of(const SigningKey& key) const {
  const auto index = static_cast<std::size_t>(&key - keys_.data());
  if (index >= keys_.size()) throw std::logic_error("AccessKeySet: not this set's key");
  return index;
}

core::Sha256Digest AccessKeySet::mac(const SigningKey& key, std::string_view data) const {
  return macs_[index_of(key)].mac(data);
}

const std::string& AccessKeySet::header_segment(const SigningKey& key) const {
  return headers_[index_of(key)];
}

const SigningKey* AccessKeySet::find_by_header(std::string_view segment) const noexcept {
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    if (headers_[i] == segment) return &keys_[i];
  }
  return nullptr;
}

// ---- AccessTokens ----------------------------------------------------------------------------

// Tokens that passed every check but the time claims, by their exact bytes. Equal bytes under the
// same (immutable) key set and options pass the same checks again, so only exp, nbf and iat are
// looked at on a hit. Entries are found by the token's hash and then compared in constant time,
// so a lookup tells nothing about a remembered token to someone who does not already hold it
// (a plain string key would be compared byte by byte, stopping at the first difference).
// Bounded: when full, expired entries go, and if that frees less than a quarter, all.
class AccessTokens::VerifiedTokens {
 public:
  std::optional<AccessTokenClaims> find(std::string_view token) const {
    const std::size_t hash = std::hash<std::string_view>{}(token);
    std::lock_guard lock(mutex_);
    auto it = entries_.find(hash);
    if (it == entries_.end()) return std::nullopt;
    const std::string& known = it->second.token;
    if (known.size() != token.size() ||
        CRYPTO_memcmp(known.data(), token.data(), token.size()) != 0) {
      return std::nullopt;  // another token with the same hash
    }
    return it->second.claims;
  }

  void remember(std::string_view token, const AccessTokenClaims& claims, std::int64_t now) {
    const std::size_t hash = std::hash<std::string_view>{}(token);
    std::lock_guard lock(mutex_);
    if (entries_.size() >= kVerifiedCapacity) {
      std::erase_if(entries_,
                    [now](const auto& entry) { return entry.second.claims.expires_at <= now; });
      // Freeing only a few would scan all again at the next few tokens.
      if (entries_.size() >= kVerifiedCapacity / 4 * 3) entries_.clear();
    }
    entries_.insert_or_assign(hash, Entry{std::string(token), claims});
  }

 private:
  struct Entry {
    std::string token;
    AccessTokenClaims claims;
  };
  mutable std::mutex mutex_;
  std::unordered_map<std::size_t, Entry> entries_;
};

AccessTokens::AccessTokens(AccessKeySet keys, AccessTokenOptions options, const core::Clock& clock)
    : keys_(std::move(keys)),
      options_(std::move(options)),
      clock_(clock),
      verified_(std::make_shared<VerifiedTokens>()) {
  if (options_.issuer.empty() || options_.audience.empty()) {
    throw std::invalid_argument("access tokens: issuer and audience are required");
  }
  if (options_.lifetime.count() <= 0) {
    throw std::invalid_argument("access tokens: lifetime must be positive");
  }
  check_leeway(options_.leeway);
  check_leeway(options_.expiry_leeway);
}

IssuedAccessToken AccessTokens::issue(std::int64_t user_id, bool guest,
                                      std::string_view session_id) const {
  if (user_id <= 0) throw std::invalid_argument("access tokens: user_id must be positive");
  if (session_id.empty() || session_id.size() > kMaxJtiBytes) {
    throw std::invalid_argument("access tokens: session_id must be 1..64 bytes");
  }
  const SigningKey& key = keys_.current();
  AccessTokenClaims claims;
  claims.user_id = user_id;
  claims.guest = guest;
  claims.jti = core::random_token(16);  // 128 bits
  claims.session_id = std::string(session_id);
  claims.issued_at = clock_.now_ms() / 1000;
  claims.not_before = claims.issued_at;
  claims.expires_at = claims.issued_at + options_.lifetime.count();
  claims.kind = std::string(kAccessKind);
  claims.key_id = key.kid;

  const json::object payload{
      {"iss", options_.issuer},  {"aud", options_.audience}, {"sub", std::to_string(user_id)},
      {"iat", claims.issued_at}, {"nbf", claims.not_before}, {"exp", claims.expires_at},
      {"jti", claims.jti},       {"typ", kAccessKind},       {"guest", guest},
      {"sid", claims.session_id}};
  std::string token = keys_.header_segment(key);
  token += '.';
  token += core::base64url_encode(json::serialize(payload));
  const auto mac = keys_.mac(key, token);
  token += '.';
  token += core::base64url_encode(as_chars(mac));
  return {std::move(token), std::move(claims)};
}

Result<AccessTokenClaims> AccessTokens::verify(std::string_view token,
                                               TokenRejection* reason) const noexcept {
  TokenRejection why = TokenRejection::none;
  Result<AccessTokenClaims> result = fail(Errc::unauthorized, std::string(kGenericFailure));
  try {
    // A moved-from object has no cache: it verifies in full.
    auto known =
        verified_ && token.size() <= kMaxTokenBytes ? verified_->find(token) : std::nullopt;
    if (known) {
      why = check_times(known->expires_at, known->not_before, known->issued_at);
      if (why == TokenRejection::none) result = std::move(*known);
    } else {
      result = verify_impl(token, why);
      if (result && verified_) verified_->remember(token, *result, clock_.now_ms() / 1000);
    }
  } catch (...) {
    // Only allocation or OpenSSL failures can throw; a token must never cause a 500.
    why = TokenRejection::malformed;
    result = fail(Errc::unauthorized, std::string(kGenericFailure));
  }
  if (reason != nullptr) *reason = why;
  return result;
}

TokenRejection AccessTokens::check_times(std::int64_t expires_at, std::int64_t not_before,
                                         std::int64_t issued_at) const {
  const std::int64_t now = clock_.now_ms() / 1000;
  // Comparisons are written against `now` (small) so a huge claim cannot overflow.
  if (expires_at <= now - options_.expiry_leeway.count()) return TokenRejection::expired;
  if (not_before > now + options_.leeway.count() || issued_at > now + options_.leeway.count()) {
    return TokenRejection::not_yet_valid;
  }
  return TokenRejection::none;
}

Result<AccessTokenClaims> AccessTokens::verify_impl(std::string_view token,
                                                    TokenRejection& reason) const {
  auto reject = [&reason](TokenRejection why) {
    reason = why;
    return fail(Errc::unauthorized, std::string(kGenericFailure));
  };

  // 1. Shape: exactly three non-empty base64url segments, bounded size.
  if (token.size() > kMaxTokenBytes) return reject(TokenRejection::malformed);
  const std::size_t dot1 = token.find('.');
  if (dot1 == std::string_view::npos) return reject(TokenRejection::malformed);
  const std::size_t dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return reject(TokenRejection::malformed);
  }
  const std::string_view header_b64 = token.substr(0, dot1);
  const std::string_view payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view signature_b64 = token.substr(dot2 + 1);
  if (header_b64.empty() || payload_b64.empty() || signature_b64.empty()) {
    return reject(TokenRejection::malformed);
  }

  // Both JSON documents of a token are small and die with this call: parsed into one arena
  // on the stack, not a heap allocation per member (a connect checks a token).
  std::array<unsigned char, 2048> arena_bytes;
  json::monotonic_resource arena(arena_bytes.data(), arena_bytes.size());
  const json::storage_ptr storage(&arena);

  // 2. Header: alg is pinned to HS256 (RFC 8725 3.1); jku/x5u/jwk/x5c are never read, so they
  //    cannot point us at an attacker's key (3.10). The kid only selects from our own keys.
  //    Our own tokens' header is one of a few exact strings: those need no parsing.
  const SigningKey* key = keys_.find_by_header(header_b64);
  if (key == nullptr) {
    const auto header_json = core::base64url_decode(header_b64);
    if (!header_json) return reject(TokenRejection::malformed);
    const auto header = parse_object(*header_json, storage);
    if (!header) return reject(TokenRejection::malformed);
    const json::string* alg = string_member(*header, "alg");
    if (alg == nullptr || *alg != kAlgorithm) return reject(TokenRejection::bad_header);
    if (header->contains("crit")) return reject(TokenRejection::bad_header);  // RFC 7515 4.1.11
    if (const json::value* typ = header->if_contains("typ")) {
      // RFC 7515 4.1.9: media types compare case-insensitively.
      if (!typ->is_string() || !iequals_ascii(typ->get_string(), "JWT")) {
        return reject(TokenRejection::bad_header);
      }
    }
    const json::string* kid = string_member(*header, "kid");
    key = kid != nullptr ? keys_.find(*kid) : nullptr;
    if (key == nullptr) return reject(TokenRejection::unknown_key);
  }

  // 3. Signature over the exact received bytes, compared in constant time (B20). Requiring the
  //    canonical encoding stops one signature from having several spellings.
  const auto signature = core::base64url_decode(signature_b64);
  if (!signature || signature->size() != kMacBytes ||
      core::base64url_encode(*signature) != signature_b64) {
    return reject(TokenRejection::bad_signature);
  }
  const auto expected = keys_.mac(*key, token.substr(0, dot2));
  if (CRYPTO_memcmp(expected.data(), signature->data(), kMacBytes) != 0) {
    return reject(TokenRejection::bad_signature);
  }

  // 4. Claims (RFC 7519 4.1, RFC 8725 3.8-3.12).
  const auto payload_json = core::base64url_decode(payload_b64);
  if (!payload_json) return reject(TokenRejection::malformed);
  const auto payload = parse_object(*payload_json, storage);
  if (!payload) return reject(TokenRejection::malformed);

  const json::string* iss = string_member(*payload, "iss");
  if (iss == nullptr || *iss != options_.issuer) return reject(TokenRejection::wrong_issuer);
  // Only a single-string aud: we never issue audience arrays, so accepting them would only
  // widen what a verifier trusts.
  const json::string* aud = string_member(*payload, "aud");
  if (aud == nullptr || *aud != options_.audience) return reject(TokenRejection::wrong_audience);
  const json::string* kind = string_member(*payload, "typ");
  if (kind == nullptr || *kind != kAccessKind) return reject(TokenRejection::wrong_kind);

  const auto exp = numeric_date(*payload, "exp");
  const auto iat = numeric_date(*payload, "iat");
  if (!exp || !iat) return reject(TokenRejection::bad_claims);
  if (payload->contains("nbf") && !numeric_date(*payload, "nbf")) {
    return reject(TokenRejection::bad_claims);
  }
  const std::int64_t nbf = numeric_date(*payload, "nbf").value_or(*iat);
  if (const auto why = check_times(*exp, nbf, *iat); why != TokenRejection::none) {
    return reject(why);
  }

  const json::string* sub = string_member(*payload, "sub");
  const auto user_id = sub != nullptr ? parse_user_id(*sub) : std::nullopt;
  if (!user_id) return reject(TokenRejection::bad_claims);
  const json::string* jti = string_member(*payload, "jti");
  if (jti == nullptr || jti->empty() || jti->size() > kMaxJtiBytes) {
    return reject(TokenRejection::bad_claims);
  }
  // The session the token was issued under: revoking it (logout, password change) ends the token.
  const json::string* sid = string_member(*payload, "sid");
  if (sid == nullptr || sid->empty() || sid->size() > kMaxJtiBytes) {
    return reject(TokenRejection::bad_claims);
  }
  bool guest = false;
  if (const json::value* g = payload->if_contains("guest")) {
    if (!g->is_bool()) return reject(TokenRejection::bad_claims);
    guest = g->get_bool();
  }

  reason = TokenRejection::none;
  AccessTokenClaims claims;
  claims.user_id = *user_id;
  claims.guest = guest;
  claims.jti = std::string(*jti);
  claims.session_id = std::string(*sid);
  claims.issued_at = *iat;
  claims.not_before = nbf;
  claims.expires_at = *exp;
  claims.kind = std::string(*kind);
  claims.key_id = key->kid;
  return claims;
}

}  // namespace parley::auth
