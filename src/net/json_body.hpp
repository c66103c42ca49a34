#pragma once
// Parsing and validating JSON request bodies. Malformed syntax is Errc::invalid_request (400),
// a wrong Content-Type is Errc::unsupported_media_type (415), and well-formed JSON that breaks a
// rule is Errc::validation_failed (422) naming the field. Unknown fields are ignored, never
// applied (mass assignment is impossible because handlers read named fields only).

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "net/http.hpp"

namespace parley::net {

/// The request's body as a JSON object. Requires `Content-Type: application/json` (any charset
/// parameter must be utf-8), valid UTF-8, nesting depth <= 32 and an object at the top.
Result<boost::json::object> parse_json_object(const Request& request);

struct StringRule {
  std::size_t min_length = 0;     ///< in Unicode code points
  std::size_t max_length = 1000;  ///< in Unicode code points
  bool trim = true;               ///< strip surrounding ASCII white space first
  bool allow_newlines = false;
};

/// A required string field. Control characters (NUL, and CR/LF unless allowed) are refused.
Result<std::string> required_string(const boost::json::object& body, std::string_view name,
                                    const StringRule& rule = {});
/// nullopt when absent or null; otherwise as required_string.
Result<std::optional<std::string>> optional_string(const boost::json::object& body,
                                                   std::string_view name,
                                                   const StringRule& rule = {});
/// An integer field in [min, max]; nullopt when absent or null.
Result<std::optional<std::int64_t>> optional_int(const boost::json::object& body,
                                                 std::string_view name, std::int64_t min,
                                                 std::int64_t max);
Result<std::optional<bool>> optional_bool(const boost::json::object& body, std::string_view name);

/// Number of Unicode code points in valid UTF-8 text.
std::size_t utf8_length(std::string_view text);

}  // namespace parley::net
