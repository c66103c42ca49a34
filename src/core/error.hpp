#pragma once
// Expected failures are values: every module boundary returns parley::Result<T>.
// Exceptions are kept for start-up, configuration and programmer errors.

#include <boost/system/result.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace parley {

/// Domain error categories. Each maps to one wire code (see to_code) and, at the HTTP edge,
/// to one status (net/http_error.hpp). Add new values at the end; never renumber.
enum class Errc {
  invalid_request,         ///< malformed input (syntax): 400
  validation_failed,       ///< well-formed input that breaks a rule: 422
  unauthorized,            ///< missing or bad credentials: 401
  forbidden,               ///< authenticated but not allowed: 403
  not_found,               ///< 404
  conflict,                ///< duplicate or state conflict: 409
  payload_too_large,       ///< 413
  unsupported_media_type,  ///< 415
  rate_limited,            ///< 429
  busy,                    ///< a bounded queue is full: 503 with Retry-After
  unavailable,             ///< a dependency (database, engine) is down: 503
  timeout,                 ///< a deadline passed: 504 at the edge
  internal,                ///< a bug or an unexpected environment failure: 500
  quota_exceeded,          ///< plan limit reached: 402
  unsupported,             ///< an engine cannot do what was asked: 422
};

/// Stable snake_case token used in JSON error bodies and logs.
std::string_view to_code(Errc code) noexcept;
/// The inverse of to_code (for codes stored in the database); nullopt for an unknown token.
std::optional<Errc> parse_code(std::string_view code) noexcept;

/// An expected failure: a category plus a message that is safe to show to the caller.
struct Error {
  Errc code = Errc::internal;
  std::string message;
  /// For Errc::rate_limited and Errc::busy: when trying again makes sense (Retry-After).
  std::chrono::milliseconds retry_after{0};

  Error() = default;
  Error(Errc c, std::string msg) : code(c), message(std::move(msg)) {}
  Error(Errc c, std::string msg, std::chrono::milliseconds retry)
      : code(c), message(std::move(msg)), retry_after(retry) {}
};

/// boost::system::result calls this (found by ADL) when value() is taken from an error:
/// that is a programmer error, so it throws.
[[noreturn]] void throw_exception_from_error(const Error& error,
                                             const boost::source_location& location);

template <class T>
using Result = boost::system::result<T, Error>;

/// Shorthand for returning a failure: `return fail(Errc::not_found, "no such room");`
inline Error fail(Errc code, std::string message) { return Error{code, std::move(message)}; }

}  // namespace parley
