#pragma once
// Identifiers and secrets from the operating system's CSPRNG (OpenSSL RAND_bytes).

#include <cstddef>
#include <string>

namespace parley::core {

/// `bytes` random bytes as lower-case hex (2*bytes characters). Throws only if the CSPRNG fails,
/// which is not an expected condition.
std::string random_hex(std::size_t bytes);

/// `bytes` random bytes as unpadded base64url, for tokens and codes that travel in URLs.
std::string random_token(std::size_t bytes);

/// A request id: short, random, safe in headers and logs.
inline std::string new_request_id() { return random_hex(8); }

}  // namespace parley::core
