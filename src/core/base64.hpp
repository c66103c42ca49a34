#pragma once
// Base64 (RFC 4648): the standard alphabet with padding, and the URL-safe alphabet without
// padding that JWTs, PKCE and tokens in URLs use.

#include <optional>
#include <string>
#include <string_view>

namespace parley::core {

std::string base64_encode(std::string_view bytes);
std::string base64url_encode(std::string_view bytes);

/// Decodes standard base64; padding optional. nullopt on any character outside the alphabet.
std::optional<std::string> base64_decode(std::string_view text);
/// Decodes unpadded (or padded) base64url. nullopt on any character outside the alphabet or an
/// impossible length.
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace parley::core
