#include "net/json_body.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/parse_options.hpp>
#include <cctype>

namespace parley::net {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_json_media_type(std::string_view content_type) {
  const std::string value = lower(content_type);
  const auto semicolon = value.find(';');
  std::string_view type = std::string_view(value).substr(0, semicolon);
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  if (type != "application/json") return false;
  if (semicolon == std::string::npos) return true;
  const auto charset = value.find("charset=", semicolon);
  if (charset == std::string::npos) return true;
  std::string_view cs = std::string_view(value).substr(charset + 8);
  if (!cs.empty() && cs.front() == '"') cs.remove_prefix(1);
  return cs.starts_with("utf-8") || cs.starts_with("utf8");
}

Error invalid_field(std::string_view name, std::string_view rule) {
  return fail(Errc::validation_failed, "field '" + std::string(name) + "' " + std::string(rule));
}

}  // namespace

std::size_t utf8_length(std::string_view text) {
  std::size_t n = 0;
  for (unsigned char c : text) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

Result<boost::json::object> parse_json_object(const Request& request) {
  if (!is_json_media_type(request[http::field::content_type])) {
    return fail(Errc::unsupported_media_type, "request body must be application/json");
  }
  boost::json::parse_options options;
  options.max_depth = 32;
  boost::system::error_code ec;
  auto value = boost::json::parse(request.body(), ec, {}, options);
  if (ec) {
    return fail(Errc::invalid_request, "request body is not valid JSON: " + ec.message());
  }
  if (!value.is_object()) {
    return fail(Errc::invalid_request, "request body must be a JSON object");
  }
  return std::move(value.as_object());
}

Result<std::optional<std::string>> optional_string(const boost::json::object& body,
                                                   std::string_view name, const StringRule& rule) {
  const auto* value = body.if_contains(name);
  if (value == nullptr || value->is_null()) return std::optional<std::string>{};
  if (!value->is_string()) return invalid_field(name, "must be a string");
  std::string_view text = value->get_string();
  if (rule.trim) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
      text.remove_prefix(1);
    }
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
      text.remove_suffix(1);
    }
  }
  for (unsigned char c : text) {
    const bool newline = c == '\n' || c == '\r' || c == '\t';
    if ((c < 0x20 && !(newline && rule.allow_newlines)) || c == 0x7f) {
      return invalid_field(name, "must not contain control characters");
    }
  }
  const auto length = utf8_length(text);
  if (length < rule.min_length) {
    return invalid_field(
        name, rule.min_length == 1
                  ? "must not be empty"
                  : "must be at least " + std::to_string(rule.min_length) + " characters long");
  }
  if (length > rule.max_length) {
    return invalid_field(name,
                         "must be at most " + std::to_string(rule.max_length) + " characters long");
  }
  return std::optional<std::string>(std::string(text));
}

Result<std::string> required_string(const boost::json::object& body, std::string_view name,
                                    const StringRule& rule) {
  auto value = optional_string(body, name, rule);
  if (!value) return value.error();
  if (!value->has_value()) return invalid_field(name, "is required");
  return std::move(**value);
}

Result<std::optional<std::int64_t>> optional_int(const boost::json::object& body,
                                                 std::string_view name, std::int64_t min,
                                                 std::int64_t max) {
  const auto* value = body.if_contains(name);
  if (value == nullptr || value->is_null()) return std::optional<std::int64_t>{};
  std::int64_t n = 0;
  if (value->is_int64()) {
    n = value->get_int64();
  } else if (value->is_uint64() && value->get_uint64() <= static_cast<std::uint64_t>(max)) {
    n = static_cast<std::int64_t>(value->get_uint64());
  } else {
    return invalid_field(name, "must be an integer");
  }
  if (n < min || n > max) {
    return invalid_field(name,
                         "must be from " + std::to_string(min) + " to " + std::to_string(max));
  }
  return std::optional<std::int64_t>(n);
}

Result<std::optional<bool>> optional_bool(const boost::json::object& body, std::string_view name) {
  const auto* value = body.if_contains(name);
  if (value == nullptr || value->is_null()) return std::optional<bool>{};
  if (!value->is_bool()) return invalid_field(name, "must be true or false");
  return std::optional<bool>(value->get_bool());
}

}  // namespace parley::net
