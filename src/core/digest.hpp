#pragma once
// SHA-256, HMAC-SHA256 and constant-time comparison (OpenSSL), shared by password hashing, access
// tokens, refresh-token storage and webhook signatures.

#include <openssl/types.h>

#include <array>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace parley::core {

using Sha256Digest = std::array<unsigned char, 32>;

/// Throws std::runtime_error only if OpenSSL itself fails (not an expected condition).
Sha256Digest sha256(std::string_view data);
Sha256Digest hmac_sha256(std::string_view key, std::string_view data);

/// An HMAC-SHA256 key prepared once (the algorithm fetched, the key's pads hashed): each MAC
/// starts from a copy of that state, for a verifier that checks every request under the same
/// few keys. Copies share the prepared state, which is only ever read: thread-safe.
class HmacSha256Key {
 public:
  /// Throws std::runtime_error only if OpenSSL itself fails.
  explicit HmacSha256Key(std::string_view key);
  /// Equal to hmac_sha256(key, data).
  Sha256Digest mac(std::string_view data) const;

 private:
  std::shared_ptr<const evp_mac_ctx_st> keyed_;
};

/// Lower-case hex of any bytes.
std::string to_hex(std::span<const unsigned char> bytes);

/// The digest's bytes viewed as chars (for base64 encoders and comparisons).
inline std::string_view as_chars(const Sha256Digest& digest) {
  return {reinterpret_cast<const char*>(digest.data()), digest.size()};
}

/// Equal contents, in time that depends only on the lengths (CRYPTO_memcmp).
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

}  // namespace parley::core
