#include "auth/accounts.hpp"

#include <algorithm>
#include <cctype>

#include "core/random.hpp"

namespace parley::auth {

namespace {

constexpr std::size_t kMaxEmailLength = 254;
constexpr std::size_t kMinUsername = 3;
constexpr std::size_t kMaxUsername = 32;
constexpr std::string_view kGuestPrefix = "guest-";

Error bad_credentials() { return fail(Errc::unauthorized, "invalid email/username or password"); }

Error too_many(const core::RateDecision& decision, std::string_view what) {
  return Error(Errc::rate_limited, "too many " + std::string(what) + "; try again later",
               decision.retry_after);
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

AccountService::AccountService(UserStore& users, SessionStore& sessions,
                               const PasswordHasher& hasher, const PasswordPolicy& policy,
                               const AccessTokens& tokens, core::RateLimiter& limiter,
                               const core::Clock& clock, AccountSettings settings)
    : users_(users),
      sessions_(sessions),
      hasher_(hasher),
      policy_(policy),
      tokens_(tokens),
      limiter_(limiter),
      clock_(clock),
      settings_(settings),
      login_failures_(clock, settings.limits.max_failures, settings.limits.failure_window),
      reauth_failures_(clock, settings.limits.max_failures, settings.limits.failure_window) {}

// --- field rules ------------------------------------------------------------------------------

Result<std::string> AccountService::normalize_email(std::string_view email) {
  const auto invalid = [] {
    return fail(Errc::validation_failed, "field 'email' is not a valid e-mail address");
  };
  if (email.empty() || email.size() > kMaxEmailLength) return invalid();
  const auto at = email.find('@');
  if (at == std::string_view::npos || at == 0 ||
      email.find('@', at + 1) != std::string_view::npos) {
    return invalid();
  }
  const auto local = email.substr(0, at);
  const auto domain = email.substr(at + 1);
  if (local.size() > 64 || domain.size() < 3 || domain.find('.') == std::string_view::npos ||
      domain.front() == '.' || domain.back() == '.' ||
      domain.find("..") != std::string_view::npos) {
    return invalid();
  }
  for (unsigned char c : email) {
    if (c <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == '(' || c == ')' || c == ',' ||
        c == ';' || c == ':' || c == '\\' || c == '"' || c == '[' || c == ']') {
      return invalid();
    }
  }
  for (unsigned char c : domain) {
    if (!(std::isalnum(c) || c == '-' || c == '.' || c >= 0x80)) return invalid();
  }
  return lower(email);
}

Result<void> AccountService::check_username(std::string_view username) {
  if (username.size() < kMinUsername || username.size() > kMaxUsername) {
    return fail(Errc::validation_failed, "field 'username' must be 3 to 32 characters long");
  }
  for (unsigned char c : username) {
    if (!(std::isalnum(c) || c == '_' || c == '.' || c == '-')) {
      return fail(Errc::validation_failed,
                  "field 'username' may contain only letters, digits, '_', '.' and '-'");
    }
  }
  if (lower(username).starts_with(kGuestPrefix)) {
    return fail(Errc::validation_failed, "field 'username' must not start with 'guest-'");
  }
  return {};
}

Result<void> AccountService::check_language(std::string_view language) {
  // A BCP 47 tag's shape: a 2-3 letter primary language, then optional subtags (zh-Hans, pt-BR).
  const auto invalid = [] {
    return fail(Errc::validation_failed,
                "field 'preferred_language' must be a language tag such as en, es or zh-Hans");
  };
  if (language.size() < 2 || language.size() > 35) return invalid();
  std::size_t i = 0;
  while (i < language.size() && std::islower(static_cast<unsigned char>(language[i]))) ++i;
  if (i < 2 || i > 3) return invalid();
  while (i < language.size()) {
    if (language[i] != '-') return invalid();
    std::size_t j = ++i;
    while (j < language.size() && std::isalnum(static_cast<unsigned char>(language[j]))) ++j;
    if (j - i < 2 || j - i > 8) return invalid();
    i = j;
  }
  return {};
}

// --- sign-in ------------------------------------------------------------------------------------

Result<SignedIn> AccountService::start_session(User user) {
  auto grant = sessions_.open(user.id);
  if (!grant) return grant.error();
  SignedIn out;
  out.access_token = tokens_.issue(user.id, user.is_guest, grant->session_id).token;
  out.expires_in = tokens_.lifetime().count();
  out.refresh_token = std::move(grant->refresh_token);
  out.session_id = std::move(grant->session_id);
  out.user = std::move(user);
  return out;
}

Result<SignedIn> AccountService::register_user(const RegisterInput& input,
                                               const std::string& client_address,
                                               const std::optional<Principal>& guest) {
  if (auto d = limiter_.acquire("register:" + client_address, settings_.limits.register_per_ip);
      !d.allowed) {
    return too_many(d, "registrations from this address");
  }
  auto email = normalize_email(input.email);
  if (!email) return email.error();
  if (auto ok = check_username(input.username); !ok) return ok.error();
  if (input.preferred_language) {
    if (auto ok = check_language(*input.preferred_language); !ok) return ok.error();
  }
  if (auto ok = policy_.check(input.password, {input.username, *email}); !ok) return ok.error();
  const std::string hash = hasher_.hash(input.password);

  if (guest && guest->is_guest) {
    auto user = users_.upgrade_guest(guest->user_id, *email, input.username, hash);
    if (!user) return user.error();
    if (input.preferred_language) {
      auto with_language = users_.set_preferred_language(user->id, *input.preferred_language);
      if (!with_language) return with_language.error();
      user = std::move(*with_language);
    }
    // The guest's tokens must not outlive its guest status.
    if (auto revoked = sessions_.revoke_all(user->id, "guest_upgraded"); !revoked) {
      return revoked.error();
    }
    return start_session(std::move(*user));
  }
  NewUser fresh;
  fresh.email = *email;
  fresh.username = input.username;
  fresh.password_hash = hash;
  fresh.provider = AuthProvider::password;
  fresh.preferred_language = input.preferred_language.value_or("en");
  auto user = users_.create(fresh);
  if (!user) return user.error();
  return start_session(std::move(*user));
}

Result<SignedIn> AccountService::login(const LoginInput& input) {
  if (auto d = limiter_.acquire("login:" + input.client_address, settings_.limits.login_per_ip);
      !d.allowed) {
    return too_many(d, "sign-in attempts from this address");
  }
  std::optional<User> user;
  std::string typed;  // what identifies the account when there is none
  if (input.email) {
    auto email = normalize_email(*input.email);
    typed = "email:" + (email ? *email : lower(*input.email));
    if (email) {
      auto found = users_.find_by_email(*email);
      if (!found) return found.error();
      user = std::move(*found);
    }
  } else if (input.username) {
    typed = "username:" + lower(*input.username);
    auto found = users_.find_by_username(*input.username);
    if (!found) return found.error();
    user = std::move(*found);
  } else {
    return fail(Errc::validation_failed, "field 'email' or 'username' is required");
  }

  // One counter per account (by id, however it was named) and address. The failure is
  // reserved before bcrypt runs, so parallel guesses cannot share a free slot.
  const std::string key =
      (user ? "user:" + std::to_string(user->id) : typed) + "|" + input.client_address;
  if (auto d = login_failures_.reserve(key); !d.allowed) return too_many(d, "failed sign-ins");

  VerifyResult verdict;
  if (user && user->password_hash) {
    verdict = hasher_.verify(input.password, *user->password_hash);
  } else {
    hasher_.burn_time(input.password);  // same cost as a wrong password: no enumeration
  }
  if (!verdict.ok) return bad_credentials();
  login_failures_.reset(key);
  if (verdict.needs_rehash) {
    // Legacy (Flask-Bcrypt) or cheaper hashes are upgraded while we hold the password.
    if (auto saved = users_.set_password_hash(user->id, hasher_.hash(input.password)); !saved) {
      return saved.error();
    }
  }
  if (auto touched = users_.touch_last_seen(user->id); !touched) return touched.error();
  return start_session(std::move(*user));
}

Result<SignedIn> AccountService::create_guest(const std::optional<std::string>& preferred_language,
                                              const std::string& client_address) {
  if (auto d = limiter_.acquire("guest:" + client_address, settings_.limits.guest_per_ip);
      !d.allowed) {
    return too_many(d, "guest sign-ins from this address");
  }
  if (preferred_language) {
    if (auto ok = check_language(*preferred_language); !ok) return ok.error();
  }
  NewUser guest;
  guest.provider = AuthProvider::guest;
  guest.preferred_language = preferred_language.value_or("en");
  // A random name: unique with overwhelming probability; retried on the rare collision.
  for (int attempt = 0; attempt < 5; ++attempt) {
    guest.username = std::string(kGuestPrefix) + core::random_hex(4);
    auto user = users_.create(guest);
    if (user) return start_session(std::move(*user));
    if (user.error().code != Errc::conflict) return user.error();
  }
  return fail(Errc::internal, "could not allocate a guest name");
}

Result<SignedIn> AccountService::refresh(const std::string& refresh_token) {
  if (refresh_token.empty() || refresh_token.size() > 256) {
    return fail(Errc::unauthorized, "invalid or expired refresh token");
  }
  auto grant = sessions_.rotate(refresh_token);
  if (!grant) return grant.error();
  auto user = users_.find_by_id(grant->user_id);
  if (!user) {
    if (user.error().code == Errc::not_found)
      return fail(Errc::unauthorized, "invalid or expired refresh token");
    return user.error();
  }
  SignedIn out;
  out.access_token = tokens_.issue(user->id, user->is_guest, grant->session_id).token;
  out.expires_in = tokens_.lifetime().count();
  out.refresh_token = std::move(grant->refresh_token);
  out.session_id = std::move(grant->session_id);
  out.user = std::move(*user);
  if (auto touched = users_.touch_last_seen(out.user.id); !touched) return touched.error();
  return out;
}

Result<SignedIn> AccountService::sign_in_external(const ExternalIdentity& identity) {
  if (identity.issuer.empty() || identity.subject.empty()) {
    return fail(Errc::unauthorized, "invalid_id_token");
  }
  // Stored as one key: an issuer URL never contains '#' (OIDC Core 3.1.2.1 forbids fragments).
  const std::string subject_key = identity.issuer + "#" + identity.subject;
  auto linked = users_.find_by_provider(identity.provider, subject_key);
  if (!linked) return linked.error();
  if (*linked) {
    if (auto touched = users_.touch_last_seen((*linked)->id); !touched) return touched.error();
    return start_session(std::move(**linked));
  }
  std::optional<std::string> email;
  if (identity.email) {
    if (!identity.email_verified) return fail(Errc::forbidden, "email_not_verified");
    auto normalized = normalize_email(*identity.email);
    if (normalized) email = *normalized;
  }
  if (email) {
    auto existing = users_.find_by_email(*email);
    if (!existing) return existing.error();
    // Linking to a password account needs that password (SECURITY C25): the user signs in
    // with it first; an unverified claim of the same address never takes an account over.
    if (*existing) return fail(Errc::conflict, "account_exists");
  }
  NewUser fresh;
  fresh.email = email;
  fresh.provider = identity.provider;
  fresh.provider_subject = subject_key;
  std::string base;
  for (char c :
       identity.display_name.value_or(email ? email->substr(0, email->find('@')) : "user")) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-') base += c;
  }
  if (base.size() < kMinUsername || lower(base).starts_with(kGuestPrefix)) base = "user";
  base = base.substr(0, kMaxUsername - 5);
  for (int attempt = 0; attempt < 6; ++attempt) {
    fresh.username = attempt == 0 ? base : base + "-" + core::random_hex(2);
    auto user = users_.create(fresh);
    if (user) return start_session(std::move(*user));
    if (user.error().code != Errc::conflict ||
        user.error().message != "username is already taken") {
      return user.error();
    }
  }
  return fail(Errc::internal, "could not allocate a username");
}

// --- the signed-in user ---------------------------------------------------------------------

Result<void> AccountService::reauthenticate(const User& user, const std::string& password) {
  const std::string key = "user:" + std::to_string(user.id);
  if (auto d = reauth_failures_.reserve(key); !d.allowed) {
    return too_many(d, "wrong passwords");
  }
  if (!user.password_hash || !hasher_.verify(password, *user.password_hash).ok) {
    return fail(Errc::forbidden, "password is wrong");
  }
  reauth_failures_.reset(key);
  return {};
}

Result<Principal> AccountService::authenticate(std::string_view access_token) {
  auto claims = tokens_.verify(access_token);
  if (!claims) return claims.error();
  auto active = sessions_.is_active(claims->session_id, claims->user_id);
  if (!active) return active.error();
  if (!*active) return fail(Errc::unauthorized, "session has ended; sign in again");
  return Principal{claims->user_id, claims->session_id, claims->guest};
}

std::optional<Result<Principal>> AccountService::authenticate_cached(
    std::string_view access_token) {
  auto claims = tokens_.verify(access_token);
  if (!claims) return Result<Principal>(claims.error());
  if (!sessions_.known_active(claims->session_id, claims->user_id)) return std::nullopt;
  return Result<Principal>(Principal{claims->user_id, claims->session_id, claims->guest});
}

Result<void> AccountService::logout(const Principal& principal) {
  return sessions_.revoke(principal.session_id, "logout");
}

Result<User> AccountService::profile(const Principal& principal) {
  return users_.find_by_id(principal.user_id);
}

Result<User> AccountService::rename(const Principal& principal, const std::string& username) {
  if (principal.is_guest)
    return fail(Errc::forbidden, "guests cannot choose a username; register first");
  if (auto ok = check_username(username); !ok) return ok.error();
  return users_.set_username(principal.user_id, username);
}

Result<User> AccountService::set_preferred_language(const Principal& principal,
                                                    const std::string& language) {
  if (auto ok = check_language(language); !ok) return ok.error();
  return users_.set_preferred_language(principal.user_id, language);
}

Result<User> AccountService::set_spoken_languages(const Principal& principal,
                                                  const std::vector<std::string>& languages) {
  if (languages.size() > kMaxSpokenLanguages) {
    return fail(Errc::validation_failed, "field 'spoken_languages' takes at most " +
                                             std::to_string(kMaxSpokenLanguages) + " languages");
  }
  std::vector<std::string> primaries;
  for (const auto& language : languages) {
    const auto lower = [](std::string tag) {
      for (char& c : tag) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return tag;
    }(language);
    if (!check_language(lower)) {
      return fail(Errc::validation_failed,
                  "field 'spoken_languages' must hold language tags such as en, es or zh-Hans");
    }
    std::string primary = lower.substr(0, lower.find('-'));
    // Withdrawn codes that old browsers still send, as detection names them.
    for (const auto& [legacy, modern] :
         {std::pair{"iw", "he"}, {"in", "id"}, {"ji", "yi"}, {"jw", "jv"}}) {
      if (primary == legacy) primary = modern;
    }
    if (std::find(primaries.begin(), primaries.end(), primary) == primaries.end()) {
      primaries.push_back(std::move(primary));
    }
  }
  return users_.set_spoken_languages(principal.user_id, primaries);
}

Result<SignedIn> AccountService::change_password(const Principal& principal,
                                                 const std::string& current,
                                                 const std::string& replacement) {
  if (principal.is_guest) return fail(Errc::forbidden, "guests have no password");
  auto user = users_.find_by_id(principal.user_id);
  if (!user) return user.error();
  if (!user->password_hash) return fail(Errc::forbidden, "this account signs in with Google");
  if (auto ok = reauthenticate(*user, current); !ok) {
    if (ok.error().code == Errc::forbidden)
      return fail(Errc::forbidden, "current password is wrong");
    return ok.error();
  }
  if (auto ok = policy_.check(replacement, {user->username, user->email.value_or("")}); !ok) {
    return ok.error();
  }
  if (auto saved = users_.set_password_hash(user->id, hasher_.hash(replacement)); !saved) {
    return saved.error();
  }
  // Every session ends, this one included; the caller continues with the new tokens.
  if (auto revoked = sessions_.revoke_all(user->id, "password_changed"); !revoked) {
    return revoked.error();
  }
  return start_session(std::move(*user));
}

Result<std::optional<std::string>> AccountService::delete_account(
    const Principal& principal, const std::optional<std::string>& password) {
  auto user = users_.find_by_id(principal.user_id);
  if (!user) return user.error();
  if (user->password_hash) {
    if (!password) return fail(Errc::forbidden, "password is required");
    if (auto ok = reauthenticate(*user, *password); !ok) return ok.error();
  } else if (!user->is_guest) {
    auto started = sessions_.started_at(principal.session_id);
    if (!started) return started.error();
    const auto age = clock_.now_ms() - *started;
    if (age >
        std::chrono::duration_cast<std::chrono::milliseconds>(settings_.recent_sign_in).count()) {
      return fail(Errc::forbidden, "sign in again before deleting the account");
    }
  }
  auto removed = users_.remove(user->id);
  if (removed) sessions_.forget_user(user->id);  // their rows went with the user
  return removed;
}

Result<std::optional<std::string>> AccountService::set_avatar(const Principal& principal,
                                                              const std::string& file_name) {
  return users_.set_avatar(principal.user_id, file_name);
}

Result<std::vector<std::string>> AccountService::remove_idle_guests() {
  const auto cutoff =
      clock_.now_ms() -
      std::chrono::duration_cast<std::chrono::milliseconds>(settings_.guest_idle_lifetime).count();
  auto removed = users_.remove_idle_guests(cutoff);
  // The count of removed guests is not known here (only their avatars): forget everything.
  if (removed) sessions_.forget_all();
  return removed;
}

}  // namespace parley::auth
