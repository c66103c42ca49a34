#pragma once
// OAuth authorization requests in flight (table oauth_states): single use, short-lived, bound to
// the browser that started them. BLOCKS on the database: call from the worker pool.

#include <chrono>
#include <optional>
#include <string>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "store/database.hpp"

namespace parley::auth {

struct PendingAuthorization {
  std::string state;
  std::string browser_binding;  ///< the secret the browser holds in a cookie
  std::string nonce;
  std::string code_verifier;
};

class OAuthStateStore {
 public:
  OAuthStateStore(store::Database& database, const core::Clock& clock,
                  std::chrono::seconds lifetime = std::chrono::minutes(10))
      : database_(database), clock_(clock), lifetime_(lifetime) {}

  Result<void> save(const PendingAuthorization& pending);

  /// Takes the state out (it can never be used again) and returns its nonce and verifier when it
  /// exists, has not expired, and `browser_binding` matches the one it was saved with.
  /// Errors: Errc::unauthorized for every other case (unknown, replayed, expired, other browser).
  Result<PendingAuthorization> consume(const std::string& state,
                                       const std::string& browser_binding);

 private:
  store::Database& database_;
  const core::Clock& clock_;
  std::chrono::seconds lifetime_;
};

}  // namespace parley::auth
