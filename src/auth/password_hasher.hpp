#pragma once
// Password storage: bcrypt through libxcrypt, with an HMAC-SHA256 pre-hash so that long passwords
// are not silently truncated at bcrypt's 72-byte limit (SECURITY.md A2), plus verification of the
// legacy Flask-Bcrypt hashes the previous Python service stored (SECURITY.md A4).
//
// BLOCKING: hash(), verify() and burn_time() each run a full bcrypt (about 250 ms at cost 12).
// Never call them on a network thread; run them on the worker pool (core/worker_pool.hpp) and
// post the result back to the connection's strand (STYLE.md habit 2).

#include <string>
#include <string_view>

namespace parley::auth {

/// Outcome of PasswordHasher::verify().
struct VerifyResult {
  bool ok = false;            ///< the password matches the stored hash
  bool needs_rehash = false;  ///< (only meaningful when ok) store hash(password) again
};

struct PasswordHasherOptions {
  /// bcrypt cost (log2 of the rounds). At least PasswordHasher::kMinCost in production.
  int cost = 12;
  /// Optional server-side secret mixed into the pre-hash. Empty means a fixed domain string is
  /// used instead. Changing it invalidates every hash made with the old value.
  std::string pepper;
  /// The old service ran Flask-Bcrypt with BCRYPT_HANDLE_LONG_PASSWORDS=True, so its plain
  /// bcrypt hashes were made from sha256(password).hexdigest() instead of the raw bytes.
  bool legacy_long_password_mode = false;
};

/// Hashes and verifies passwords.
///
/// Stored formats understood by verify():
///  - `$parley-hmac-sha256$$2b$CC$<53>`: bcrypt of base64(HMAC-SHA256(pepper or domain
///    string, password)); what hash() produces.
///  - `$2a$`, `$2b$`, `$2y$` plain bcrypt from Python bcrypt / Flask-Bcrypt (raw UTF-8 bytes,
///    or sha256 hex in legacy_long_password_mode), optionally wrapped as a Python bytes repr
///    `b'...'`. These always report needs_rehash.
///
/// Thread-safety: immutable after construction; every method is const and safe to call
/// concurrently from any number of worker threads.
class PasswordHasher {
 public:
  static constexpr int kDefaultCost = 12;
  static constexpr int kMinCost = 10;     ///< ASVS 4.0.3 2.4.4
  static constexpr int kMinTestCost = 4;  ///< bcrypt's own minimum; tests only
  static constexpr int kMaxCost = 31;     ///< bcrypt's own maximum
  static constexpr std::string_view kSchemePrefix = "$parley-hmac-sha256$";

  /// @throws std::invalid_argument if options.cost is outside [kMinCost, kMaxCost]
  ///         (a configuration error: fail at start-up).
  explicit PasswordHasher(PasswordHasherOptions options = {});

  /// Test-only: allows costs down to kMinTestCost so that unit tests stay fast.
  /// @throws std::invalid_argument if options.cost is outside [kMinTestCost, kMaxCost].
  static PasswordHasher insecure_for_tests(PasswordHasherOptions options);

  /// Hashes a new password with a fresh random salt at the configured cost.
  /// Any byte string is accepted (policy is PasswordPolicy's job). BLOCKING.
  /// @throws std::runtime_error only if libxcrypt or the CSPRNG fails, which is not an
  ///         expected condition.
  std::string hash(std::string_view password) const;

  /// Checks `password` against a stored value in any supported format. Unknown, truncated or
  /// garbage stored values give {ok=false}: never an exception, never a match; they still cost
  /// one bcrypt so that they do not stand out by timing. The comparison of bcrypt outputs is
  /// constant-time. BLOCKING. Does not throw.
  VerifyResult verify(std::string_view password, std::string_view stored) const noexcept;

  /// Runs the same work as a failed verify() against a hash at the configured cost, so that
  /// "unknown user" takes as long as "wrong password" (SECURITY.md A6). BLOCKING. Does not throw.
  void burn_time(std::string_view password = {}) const noexcept;

  int cost() const noexcept { return cost_; }

 private:
  struct TestTag {};
  PasswordHasher(PasswordHasherOptions options, TestTag);

  /// base64(HMAC-SHA256(key_, password)): 44 ASCII bytes, well under bcrypt's 72.
  std::string prehash(std::string_view password) const;

  int cost_;
  std::string key_;
  bool legacy_long_password_mode_;
  std::string dummy_setting_;  // a "$2b$CC$salt" used by burn_time()
};

}  // namespace parley::auth
