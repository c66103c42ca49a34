#pragma once
// The accounts service: registration, sign-in (password, guest, external identity), token
// refresh, sign-out and account management. It knows nothing of HTTP. Every method BLOCKS
// (bcrypt, database): callers run it on the worker pool. Thread-safe.

#include <chrono>
#include <optional>
#include <string>

#include "auth/access_tokens.hpp"
#include "auth/password_hasher.hpp"
#include "auth/password_policy.hpp"
#include "auth/session_store.hpp"
#include "auth/user.hpp"
#include "auth/user_store.hpp"
#include "core/clock.hpp"
#include "core/failure_counter.hpp"
#include "core/rate_limiter.hpp"

namespace parley::auth {

struct AccountLimits {
  /// Login attempts per client address (IPv6: per /64), successful or not.
  core::RateLimit login_per_ip{60, std::chrono::minutes(1), 30};
  core::RateLimit register_per_ip{20, std::chrono::hours(1), 10};
  core::RateLimit guest_per_ip{30, std::chrono::hours(1), 10};
  /// Failed password checks per account and address within a sliding window: the 11th failure
  /// in 15 minutes is refused. Keyed by account *and* address on purpose: a per-account lock
  /// alone would let anyone lock any user out (SECURITY.md A7). The same limit, keyed by user,
  /// guards re-authentication (change password, delete account) with a stolen token.
  std::size_t max_failures = 10;
  std::chrono::minutes failure_window{15};
};

struct AccountSettings {
  std::chrono::seconds session_lifetime{std::chrono::hours(24 * 30)};
  std::chrono::seconds refresh_lifetime{std::chrono::hours(24 * 30)};
  /// Guests not seen for this long are deleted.
  std::chrono::seconds guest_idle_lifetime{std::chrono::hours(24 * 7)};
  /// Without a password to re-enter, deleting an account needs a sign-in this recent.
  std::chrono::seconds recent_sign_in{std::chrono::minutes(10)};
  AccountLimits limits;
};

/// Who is calling, from a verified access token whose session is still active.
struct Principal {
  std::int64_t user_id = 0;
  std::string session_id;
  bool is_guest = false;
};

/// What a sign-in produces: the user plus a fresh token pair.
struct SignedIn {
  User user;
  std::string access_token;
  std::string refresh_token;
  std::int64_t expires_in = 0;  ///< seconds of access-token life
  std::string session_id;
};

struct RegisterInput {
  std::string email;
  std::string username;
  std::string password;
  std::optional<std::string> preferred_language;
};

struct LoginInput {
  std::optional<std::string> email;
  std::optional<std::string> username;
  std::string password;
  std::string client_address;
};

/// An identity proven by an external provider (Google). Users are identified by (issuer, subject)
/// (OIDC Core 5.7): a subject is only unique within its issuer.
struct ExternalIdentity {
  AuthProvider provider = AuthProvider::google;
  std::string subject;
  std::string issuer;
  std::optional<std::string> email;
  bool email_verified = false;
  std::optional<std::string> display_name;
};

class AccountService {
 public:
  AccountService(UserStore& users, SessionStore& sessions, const PasswordHasher& hasher,
                 const PasswordPolicy& policy, const AccessTokens& tokens,
                 core::RateLimiter& limiter, const core::Clock& clock, AccountSettings settings);

  /// Errors: validation_failed (field rules, weak password), conflict (email or username taken),
  /// rate_limited. With `guest`, the guest becomes this user (same id, rooms, messages).
  Result<SignedIn> register_user(const RegisterInput& input, const std::string& client_address,
                                 const std::optional<Principal>& guest);
  /// Errors: unauthorized (same message and cost for an unknown user and a wrong password),
  /// rate_limited (with retry_after), validation_failed.
  Result<SignedIn> login(const LoginInput& input);
  Result<SignedIn> create_guest(const std::optional<std::string>& preferred_language,
                                const std::string& client_address);
  /// Errors: unauthorized (unknown, used, expired, revoked: reuse revokes the session).
  Result<SignedIn> refresh(const std::string& refresh_token);
  /// Signs in (or creates) the user of an external identity. Errors: conflict with code-like
  /// message "account_exists" when a password account has that e-mail (it must sign in with its
  /// password first), forbidden "email_not_verified".
  Result<SignedIn> sign_in_external(const ExternalIdentity& identity);

  /// Verifies the bearer token and that its session is active. Errors: unauthorized.
  Result<Principal> authenticate(std::string_view access_token);
  /// authenticate() without the database, for the network thread: a result when the token is
  /// invalid or its session is known active (SessionCache), nothing when only the database can
  /// tell (then call authenticate() on a worker).
  std::optional<Result<Principal>> authenticate_cached(std::string_view access_token);

  Result<void> logout(const Principal& principal);
  Result<User> profile(const Principal& principal);
  Result<User> rename(const Principal& principal, const std::string& username);
  Result<User> set_preferred_language(const Principal& principal, const std::string& language);
  /// Declares the languages the user speaks (at most kMaxSpokenLanguages tags, each stored as
  /// its lower-case primary subtag, repeats dropped, order kept; empty: none declared).
  /// Errors: validation_failed (not a language tag, too many).
  Result<User> set_spoken_languages(const Principal& principal,
                                    const std::vector<std::string>& languages);
  /// Errors: forbidden (wrong current password, guests, accounts without a password),
  /// validation_failed (weak new password). Ends every other session; returns new tokens.
  Result<SignedIn> change_password(const Principal& principal, const std::string& current,
                                   const std::string& replacement);
  /// Errors: forbidden (wrong password; or no password and the sign-in is not recent).
  /// Returns the avatar file name that should be removed from disk.
  Result<std::optional<std::string>> delete_account(const Principal& principal,
                                                    const std::optional<std::string>& password);
  /// Returns the previous avatar file name to remove.
  Result<std::optional<std::string>> set_avatar(const Principal& principal,
                                                const std::string& file_name);
  /// Deletes idle guests; returns their avatar file names.
  Result<std::vector<std::string>> remove_idle_guests();

  // Field rules, shared with the HTTP layer's messages.
  static Result<std::string> normalize_email(std::string_view email);
  static Result<void> check_username(std::string_view username);
  static Result<void> check_language(std::string_view language);

 private:
  Result<SignedIn> start_session(User user);
  /// Checks the password of a signed-in user (re-authentication), under reauth_failures_.
  Result<void> reauthenticate(const User& user, const std::string& password);

  UserStore& users_;
  SessionStore& sessions_;
  const PasswordHasher& hasher_;
  const PasswordPolicy& policy_;
  const AccessTokens& tokens_;
  core::RateLimiter& limiter_;
  const core::Clock& clock_;
  AccountSettings settings_;
  core::FailureCounter login_failures_;
  core::FailureCounter reauth_failures_;
};

}  // namespace parley::auth
