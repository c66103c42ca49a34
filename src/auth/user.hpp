#pragma once
// A Parley user as the services see it, and its public JSON shape.

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "store/value.hpp"

namespace parley::auth {

enum class AuthProvider { password, google, guest };

std::string_view to_string(AuthProvider provider);

struct User {
  std::int64_t id = 0;
  std::optional<std::string> email;
  std::string username;
  std::optional<std::string> password_hash;
  AuthProvider provider = AuthProvider::password;
  std::optional<std::string> provider_subject;
  bool is_guest = false;
  std::string preferred_language = "en";
  /// The languages the user speaks, as they declared them (primary subtags, their order; empty
  /// when none were declared). Detection of what they say picks among these.
  std::vector<std::string> spoken_languages;
  std::optional<std::string> avatar_path;  ///< file name under UPLOAD_DIR/avatars
  std::string plan = "free";
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
  std::optional<std::int64_t> last_seen_at;
};

/// The columns `user_from_row` reads, for SELECT lists.
inline constexpr const char* kUserColumns =
    "id, email, username, password_hash, auth_provider, provider_subject, is_guest, "
    "preferred_language, avatar_path, plan, created_at, updated_at, last_seen_at, "
    "spoken_languages";

Result<User> user_from_row(const store::Row& row);

/// The API's user object: {"id","username","email","is_guest","preferred_language",
/// "spoken_languages","avatar_url","plan","created_at"}; `email` only when `include_email` (the
/// user themself). `public_base_url` (BACKEND_URL) makes avatar_url absolute for clients on other
/// origins.
boost::json::object to_json(const User& user, bool include_email,
                            const std::string& public_base_url);

/// ISO 8601 UTC with milliseconds, e.g. "2026-11-26T04:10:44.348Z".
std::string iso8601(std::int64_t unix_ms);

/// Most languages one user may declare as spoken.
inline constexpr std::size_t kMaxSpokenLanguages = 8;
/// "en,es" <-> {"en", "es"}: how spoken_languages is stored.
std::vector<std::string> split_spoken_languages(std::string_view stored);
std::string join_spoken_languages(const std::vector<std::string>& languages);

}  // namespace parley::auth
