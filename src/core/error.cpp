#include "core/error.hpp"

#include <stdexcept>

namespace parley {

std::string_view to_code(Errc code) noexcept {
  switch (code) {
    case Errc::invalid_request:
      return "invalid_request";
    case Errc::validation_failed:
      return "validation_failed";
    case Errc::unauthorized:
      return "unauthorized";
    case Errc::forbidden:
      return "forbidden";
    case Errc::not_found:
      return "not_found";
    case Errc::conflict:
      return "conflict";
    case Errc::payload_too_large:
      return "payload_too_large";
    case Errc::unsupported_media_type:
      return "unsupported_media_type";
    case Errc::rate_limited:
      return "rate_limited";
    case Errc::busy:
      return "busy";
    case Errc::unavailable:
      return "unavailable";
    case Errc::timeout:
      return "timeout";
    case Errc::internal:
      return "internal";
    case Errc::quota_exceeded:
      return "quota_exceeded";
    case Errc::unsupported:
      return "unsupported";
  }
  return "internal";
}

std::optional<Errc> parse_code(std::string_view code) noexcept {
  for (int i = 0; i <= static_cast<int>(Errc::unsupported); ++i) {
    const auto candidate = static_cast<Errc>(i);
    if (to_code(candidate) == code) return candidate;
  }
  return std::nullopt;
}

void throw_exception_from_error(const Error& error, const boost::source_location& location) {
  throw std::logic_error(std::string("unchecked parley::Result error (") +
                         std::string(to_code(error.code)) + "): " + error.message + " at " +
                         location.file_name() + ":" + std::to_string(location.line()));
}

}  // namespace parley
