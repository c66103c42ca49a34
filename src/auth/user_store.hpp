#pragma once
// Reads and writes users. Every method BLOCKS on the database: call it from the worker pool.
// Thread-safe (each call leases its own connection).

#include <optional>
#include <string>
#include <vector>

#include "auth/user.hpp"
#include "core/clock.hpp"
#include "store/database.hpp"

namespace parley::auth {

struct NewUser {
  std::optional<std::string> email;  ///< lower-cased by the caller
  std::string username;
  std::optional<std::string> password_hash;
  AuthProvider provider = AuthProvider::password;
  std::optional<std::string> provider_subject;
  std::string preferred_language = "en";
};

class UserStore {
 public:
  UserStore(store::Database& database, const core::Clock& clock)
      : database_(database), clock_(clock) {}

  /// Errors: Errc::not_found; storage errors.
  Result<User> find_by_id(std::int64_t id);
  /// By e-mail (case-insensitive: e-mails are stored lower-cased) or by exact username.
  Result<std::optional<User>> find_by_email(const std::string& email_lower);
  Result<std::optional<User>> find_by_username(const std::string& username);
  Result<std::optional<User>> find_by_provider(AuthProvider provider, const std::string& subject);

  /// Errors: Errc::conflict naming the field ("email is already registered", "username is
  /// already taken"); storage errors.
  Result<User> create(const NewUser& user);

  /// Turns a guest into a password user, keeping its id (and so its rooms and messages).
  /// Errors: Errc::conflict as create(); Errc::not_found if the user is gone or not a guest.
  Result<User> upgrade_guest(std::int64_t id, const std::string& email_lower,
                             const std::string& username, const std::string& password_hash);

  Result<User> set_username(std::int64_t id, const std::string& username);
  Result<void> set_password_hash(std::int64_t id, const std::string& password_hash);
  Result<User> set_preferred_language(std::int64_t id, const std::string& language);
  /// `languages`: already validated and normalised (AccountService::set_spoken_languages).
  Result<User> set_spoken_languages(std::int64_t id, const std::vector<std::string>& languages);
  /// Returns the previous avatar file name (to delete), if any.
  Result<std::optional<std::string>> set_avatar(std::int64_t id, const std::string& file_name);
  Result<void> touch_last_seen(std::int64_t id);

  /// Deletes the user. Their messages stay, attributed to nobody ("deleted user"); memberships
  /// and sessions go with them. Returns the avatar file name to remove, if any.
  Result<std::optional<std::string>> remove(std::int64_t id);

  /// Deletes guests not seen since `cutoff_ms`; returns their avatar file names.
  Result<std::vector<std::string>> remove_idle_guests(std::int64_t cutoff_ms);

 private:
  Result<std::optional<User>> find_one(std::string_view where, store::Value param);
  Error conflict_for(store::Connection& connection, const std::optional<std::string>& email,
                     const std::string& username, std::int64_t except_id);

  store::Database& database_;
  const core::Clock& clock_;
};

}  // namespace parley::auth
