#include "auth/user.hpp"

#include <boost/json/array.hpp>
#include <ctime>

namespace parley::auth {

std::string_view to_string(AuthProvider provider) {
  switch (provider) {
    case AuthProvider::password:
      return "password";
    case AuthProvider::google:
      return "google";
    case AuthProvider::guest:
      return "guest";
  }
  return "password";
}

Result<User> user_from_row(const store::Row& row) {
  User user;
  auto id = row.get<std::int64_t>("id");
  auto username = row.get<std::string>("username");
  auto provider = row.get<std::string>("auth_provider");
  auto is_guest = row.get<bool>("is_guest");
  auto language = row.get<std::string>("preferred_language");
  auto plan = row.get<std::string>("plan");
  auto created = row.get<std::int64_t>("created_at");
  auto updated = row.get<std::int64_t>("updated_at");
  if (!id || !username || !provider || !is_guest || !language || !plan || !created || !updated) {
    return fail(Errc::internal, "users row has an unexpected shape");
  }
  user.id = *id;
  user.username = *username;
  user.provider = *provider == "google"  ? AuthProvider::google
                  : *provider == "guest" ? AuthProvider::guest
                                         : AuthProvider::password;
  user.is_guest = *is_guest;
  user.preferred_language = *language;
  user.plan = *plan;
  user.created_at = *created;
  user.updated_at = *updated;
  user.email = row.try_get<std::string>("email");
  user.password_hash = row.try_get<std::string>("password_hash");
  user.provider_subject = row.try_get<std::string>("provider_subject");
  user.avatar_path = row.try_get<std::string>("avatar_path");
  user.last_seen_at = row.try_get<std::int64_t>("last_seen_at");
  user.spoken_languages =
      split_spoken_languages(row.try_get<std::string>("spoken_languages").value_or(""));
  return user;
}

std::vector<std::string> split_spoken_languages(std::string_view stored) {
  std::vector<std::string> languages;
  while (!stored.empty()) {
    const auto comma = stored.find(',');
    const auto item = stored.substr(0, comma);
    if (!item.empty()) languages.emplace_back(item);
    if (comma == std::string_view::npos) break;
    stored.remove_prefix(comma + 1);
  }
  return languages;
}

std::string join_spoken_languages(const std::vector<std::string>& languages) {
  std::string stored;
  for (const auto& language : languages) {
    if (!stored.empty()) stored += ',';
    stored += language;
  }
  return stored;
}

std::string iso8601(std::int64_t unix_ms) {
  const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", date, static_cast<int>(unix_ms % 1000));
  return out;
}

boost::json::object to_json(const User& user, bool include_email,
                            const std::string& public_base_url) {
  boost::json::object out{
      {"id", user.id},
      {"username", user.username},
      {"is_guest", user.is_guest},
      {"preferred_language", user.preferred_language},
      {"plan", user.plan},
      {"spoken_languages",
       boost::json::array(user.spoken_languages.begin(), user.spoken_languages.end())},
      {"created_at", iso8601(user.created_at)},
  };
  if (user.avatar_path) {
    out["avatar_url"] = public_base_url + "/uploads/avatars/" + *user.avatar_path;
  } else {
    out["avatar_url"] = nullptr;
  }
  if (include_email) {
    if (user.email) {
      out["email"] = *user.email;
    } else {
      out["email"] = nullptr;
    }
  }
  return out;
}

}  // namespace parley::auth
