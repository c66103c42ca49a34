#pragma once
// Access tokens: compact JWS (RFC 7515/7519) with HS256 only, written on OpenSSL's HMAC and
// Boost.JSON rather than a JWT library, because Debian's libcpp-jwt compares MACs with
// string_view == (SECURITY.md B20) and a small, strict verifier is easier to audit (RFC 8725).
//
// Token shape:
//   header  {"alg":"HS256","typ":"JWT","kid":"<key id>"}
//   payload {"iss":..,"aud":..,"sub":"<user
//   id>","iat":s,"nbf":s,"exp":s,"jti":"<128-bit>","sid":..,
//            "typ":"access","guest":bool}
// The payload's "typ" names the token kind (RFC 8725 3.11 explicit typing): refresh tokens and
// foreign id_tokens lack "typ":"access" and so are refused as bearer tokens.
//
// Cheap (one HMAC): safe to call on network threads. A token verified once is remembered by its
// exact bytes, so that presenting it again (reconnects, several tabs, the REST calls around a
// CONNECT) costs a lookup; its time claims are still checked on every use.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/digest.hpp"
#include "core/error.hpp"

namespace parley::auth {

/// One HMAC key and the `kid` that names it in token headers.
struct SigningKey {
  std::string kid;
  std::string secret;  ///< raw bytes, at least AccessKeySet::kMinSecretBytes
};

/// The current signing key plus retired keys that are still accepted while their tokens live
/// out (SECURITY.md B17). Immutable value; thread-safe to share.
class AccessKeySet {
 public:
  static constexpr std::size_t kMinSecretBytes = 32;  // RFC 7518 3.2: key >= hash output size

  /// @throws std::invalid_argument if a secret is shorter than kMinSecretBytes, a kid is empty
  ///         or not printable ASCII, or two keys share a kid (configuration errors).
  explicit AccessKeySet(SigningKey current, std::vector<SigningKey> previous = {});

  /// Builds a set from JWT_SECRET_KEY-style secrets, naming each key by derive_kid().
  /// @throws std::invalid_argument as the constructor.
  static AccessKeySet from_secrets(std::string current_secret,
                                   std::vector<std::string> previous_secrets = {});

  /// First 8 hex digits of SHA-256(secret): stable across restarts and reveals nothing useful.
  static std::string derive_kid(std::string_view secret);

  const SigningKey& current() const noexcept { return keys_.front(); }
  /// The key whose kid equals `kid` exactly, or nullptr.
  const SigningKey* find(std::string_view kid) const noexcept;
  /// HMAC-SHA256 of `data` under `key`, which must be one of this set's (current() or find()).
  core::Sha256Digest mac(const SigningKey& key, std::string_view data) const;
  /// The header segment (base64url JSON) of the tokens `key` signs, which must be one of this
  /// set's.
  const std::string& header_segment(const SigningKey& key) const;
  /// The key whose tokens start with exactly `segment`, or nullptr (a header written otherwise
  /// may still be valid: it is then parsed).
  const SigningKey* find_by_header(std::string_view segment) const noexcept;

 private:
  std::size_t index_of(const SigningKey& key) const;

  std::vector<SigningKey> keys_;           // keys_[0] is the current key
  std::vector<core::HmacSha256Key> macs_;  // keys_[i]'s prepared once: one per CONNECT adds up
  std::vector<std::string> headers_;       // keys_[i]'s header segment, likewise
};

/// Claims of a verified access token.
struct AccessTokenClaims {
  std::int64_t user_id = 0;
  bool guest = false;
  std::string jti;              ///< unique token id: the key for logout denylists (B18)
  std::string session_id;       ///< "sid": the sign-in session; revoking it ends the token
  std::int64_t issued_at = 0;   ///< iat, Unix seconds
  std::int64_t not_before = 0;  ///< nbf, Unix seconds (= iat when absent)
  std::int64_t expires_at = 0;  ///< exp, Unix seconds
  std::string kind;             ///< the payload "typ"; always "access" once verified
  std::string key_id;           ///< kid of the key that signed it
};

/// A freshly issued token and the claims it carries.
struct IssuedAccessToken {
  std::string token;
  AccessTokenClaims claims;
};

/// Why verify() refused a token: for logs and metrics only, never for the client.
enum class TokenRejection {
  none,
  malformed,    ///< size, segments, base64url or JSON
  bad_header,   ///< alg other than HS256, crit, non-JWT typ
  unknown_key,  ///< kid missing or not in the key set
  bad_signature,
  expired,
  not_yet_valid,  ///< nbf or iat in the future beyond leeway
  wrong_issuer,
  wrong_audience,
  wrong_kind,  ///< payload typ is not "access"
  bad_claims,  ///< missing or ill-typed sub, jti, exp, iat, guest
};
std::string_view to_string(TokenRejection reason) noexcept;

struct AccessTokenOptions {
  std::string issuer;
  std::string audience;
  std::chrono::seconds lifetime{std::chrono::minutes(15)};
  /// Clock skew allowed for nbf and iat between the nodes of a cluster. At most 60 s.
  std::chrono::seconds leeway{30};
  /// Skew allowed past exp. 0 by default so that exp = now - 1 is refused (SECURITY.md B13);
  /// the issuing and verifying servers share the same clock source. At most 60 s.
  std::chrono::seconds expiry_leeway{0};
};

/// Issues and verifies HS256 access tokens.
/// Thread-safety: immutable after construction; issue() and verify() may run concurrently.
/// The clock must outlive this object.
class AccessTokens {
 public:
  /// Tokens longer than this are refused before any decoding (a real one is about 400 bytes).
  static constexpr std::size_t kMaxTokenBytes = 4096;

  /// @throws std::invalid_argument if issuer or audience is empty, lifetime is not positive,
  ///         or a leeway is negative or above 60 s (configuration errors).
  AccessTokens(AccessKeySet keys, AccessTokenOptions options, const core::Clock& clock);

  /// Issues a token for `user_id` signed with the current key; exp = now + lifetime.
  /// @throws std::invalid_argument if user_id <= 0 (a programmer error); std::runtime_error
  ///         only if OpenSSL or the CSPRNG fails.
  IssuedAccessToken issue(std::int64_t user_id, bool guest, std::string_view session_id) const;
  std::chrono::seconds lifetime() const noexcept { return options_.lifetime; }

  /// Verifies signature and claims. Every failure is Errc::unauthorized with the same generic
  /// message, so the response does not tell an attacker which check failed; `reason`, when
  /// given, receives the specific cause for logging. Does not throw on any input.
  Result<AccessTokenClaims> verify(std::string_view token,
                                   TokenRejection* reason = nullptr) const noexcept;

  const AccessKeySet& keys() const noexcept { return keys_; }

  /// Tokens remembered as verified at most (each about 0.5 KB with its claims).
  static constexpr std::size_t kVerifiedCapacity = 4096;

 private:
  class VerifiedTokens;

  Result<AccessTokenClaims> verify_impl(std::string_view token, TokenRejection& reason) const;
  /// The time claims (exp, nbf, iat) against the clock; the only checks whose answer changes.
  TokenRejection check_times(std::int64_t expires_at, std::int64_t not_before,
                             std::int64_t issued_at) const;

  AccessKeySet keys_;
  AccessTokenOptions options_;
  const core::Clock& clock_;
  // Shared by copies: same keys and options, so the same answers.
  std::shared_ptr<VerifiedTokens> verified_;
};

}  // namespace parley::auth
