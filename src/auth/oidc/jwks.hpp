#pragma once
// A JSON Web Key Set (RFC 7517) reduced to what an id_token check needs: RSA public keys by
// `kid`, turned into OpenSSL keys once when the set is fetched, and RS256 verification.

#include <openssl/types.h>  // EVP_PKEY, without the rest of OpenSSL

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace parley::auth::oidc {

struct EvpPkeyDeleter {
  void operator()(EVP_PKEY* key) const noexcept;
};
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyDeleter>;

/// Immutable once built, so one set can be shared by concurrent verifications (an EVP_PKEY may
/// be used for verification from several threads at once).
class JsonWebKeySet {
 public:
  /// Parses a JWKS document. Keys that are not RSA signature keys usable with RS256 (other `kty`,
  /// `use` other than "sig", `alg` other than RS256, no `kid`, under 2048 bits) are skipped, not
  /// errors: providers publish keys for other purposes. A set without any usable key fails.
  ///
  /// Errors: Errc::unavailable with OidcFailure::provider_misconfigured (see oidc_error.hpp).
  static Result<JsonWebKeySet> parse(std::string_view json);

  /// The key whose `kid` equals `kid` exactly, or null. `kid` is untrusted input from a token
  /// header and is only ever used as a map key (never as a path, URL or query).
  const EVP_PKEY* find(std::string_view kid) const;
  /// The only key, when the set has exactly one (a token may then omit `kid`), else null.
  const EVP_PKEY* sole_key() const;
  std::size_t size() const noexcept { return keys_.size(); }

 private:
  std::map<std::string, EvpPkeyPtr, std::less<>> keys_;
};

/// Builds an RSA public key from the big-endian modulus and exponent bytes of a JWK (`n`, `e`
/// after base64url decoding). Null on invalid input.
EvpPkeyPtr rsa_public_key_from_components(std::string_view modulus, std::string_view exponent);

/// True iff `signature` is a valid RSASSA-PKCS1-v1_5 SHA-256 (RS256) signature of
/// `signing_input` under `key`. Never throws.
bool verify_rs256(const EVP_PKEY& key, std::string_view signing_input,
                  std::string_view signature) noexcept;

}  // namespace parley::auth::oidc
