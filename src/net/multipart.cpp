#include "net/multipart.hpp"

#include <unordered_set>

namespace parley::net {

namespace {

using Parameters = std::vector<std::pair<std::string, std::string>>;

// RFC 9110 tchar: the characters of a token (header names, parameter names, unquoted values).
bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// RFC 2046 bchars (the space is allowed but not as the last character).
bool is_bchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("'()+_,-./:=? ").find(c) != std::string_view::npos;
}

bool is_control(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

bool is_ows(char c) { return c == ' ' || c == '\t'; }

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

// Field names are chosen by the client: quote at most a short prefix of them in messages.
std::string quoted_name(std::string_view name) {
  constexpr std::size_t max_shown = 64;
  std::string out = "'" + std::string(name.substr(0, max_shown));
  if (name.size() > max_shown) out += "...";
  return out + "'";
}

Error bad_request(std::string message) { return fail(Errc::invalid_request, std::move(message)); }

// Consumes a token from the front of `s`; empty when `s` does not start with one.
std::string_view take_token(std::string_view& s) {
  std::size_t n = 0;
  while (n < s.size() && is_tchar(s[n])) ++n;
  const auto token = s.substr(0, n);
  s.remove_prefix(n);
  return token;
}

// Consumes an RFC 9110 quoted-string (starting at the opening quote) and returns its unescaped
// content, or nullopt when it is not terminated.
std::optional<std::string> take_quoted_string(std::string_view& s) {
  std::string out;
  for (std::size_t i = 1; i < s.size(); ++i) {
    if (s[i] == '"') {
      s.remove_prefix(i + 1);
      return out;
    }
    if (s[i] == '\\') {
      if (++i == s.size()) break;
    }
    out += s[i];
  }
  return std::nullopt;
}

// Parses `*( OWS ";" OWS [ name OWS "=" OWS ( token / quoted-string ) ] )`, the parameter list
// of Content-Type and Content-Disposition. Names are lower-cased; a repeated name is an error
// because two parsers that pick different copies would disagree about the request.
Result<Parameters> parse_parameters(std::string_view s, std::string_view header) {
  Parameters params;
  const auto malformed = [&](std::string_view why) {
    return bad_request("malformed " + std::string(header) + " header: " + std::string(why));
  };
  for (;;) {
    s = trim_ows(s);
    if (s.empty()) return params;
    if (s.front() != ';') return malformed("expected ';' between parameters");
    s.remove_prefix(1);
    s = trim_ows(s);
    if (s.empty() || s.front() == ';') continue;  // tolerate empty parameters ("a=1;;b=2;")
    std::string name = lower(take_token(s));
    if (name.empty()) return malformed("expected a parameter name");
    s = trim_ows(s);
    if (s.empty() || s.front() != '=') return malformed("expected '=' after '" + name + "'");
    s.remove_prefix(1);
    s = trim_ows(s);
    std::string value;
    if (!s.empty() && s.front() == '"') {
      auto quoted = take_quoted_string(s);
      if (!quoted) return malformed("unterminated quoted string");
      value = std::move(*quoted);
    } else {
      value = std::string(take_token(s));
      if (value.empty()) return malformed("expected a value for '" + name + "'");
    }
    for (const auto& [existing, unused] : params) {
      if (existing == name) return malformed("parameter '" + name + "' appears twice");
    }
    params.emplace_back(std::move(name), std::move(value));
  }
}

const std::string* find_parameter(const Parameters& params, std::string_view name) {
  for (const auto& [key, value] : params) {
    if (key == name) return &value;
  }
  return nullptr;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 5987 ext-value: charset "'" [ language ] "'" pct-encoded-value. UTF-8 is what every
// client sends; ISO-8859-1 is the only other charset the RFC requires recipients to support.
Result<std::string> decode_ext_value(std::string_view ext) {
  const auto first = ext.find('\'');
  const auto second = first == std::string_view::npos ? first : ext.find('\'', first + 1);
  if (second == std::string_view::npos) {
    return bad_request("malformed filename* parameter: expected charset'language'value");
  }
  const std::string charset = lower(ext.substr(0, first));
  const bool latin1 = charset == "iso-8859-1";
  if (charset != "utf-8" && !latin1) {
    return bad_request("unsupported charset in filename* parameter (use UTF-8)");
  }
  std::string out;
  const auto value = ext.substr(second + 1);
  for (std::size_t i = 0; i < value.size(); ++i) {
    auto byte = static_cast<unsigned char>(value[i]);
    if (value[i] == '%') {
      const int hi = i + 2 < value.size() ? hex_value(value[i + 1]) : -1;
      const int lo = hi >= 0 ? hex_value(value[i + 2]) : -1;
      if (lo < 0) return bad_request("malformed percent-encoding in filename* parameter");
      byte = static_cast<unsigned char>(hi * 16 + lo);
      i += 2;
    }
    if (latin1 && byte >= 0x80) {
      out += static_cast<char>(0xC0 | (byte >> 6));
      out += static_cast<char>(0x80 | (byte & 0x3F));
    } else {
      out += static_cast<char>(byte);
    }
  }
  return out;
}

std::string without_controls(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (!is_control(c)) out += c;
  }
  return out;
}

// Fills name/filename from `form-data; name="..."; filename="..."`.
Result<void> apply_content_disposition(std::string_view value, FormPart& part) {
  const auto semicolon = value.find(';');
  if (!iequals(trim_ows(value.substr(0, semicolon)), "form-data")) {
    return bad_request("part Content-Disposition must be form-data");
  }
  auto params = parse_parameters(
      semicolon == std::string_view::npos ? std::string_view{} : value.substr(semicolon),
      "Content-Disposition");
  if (!params) return params.error();
  const auto* name = find_parameter(*params, "name");
  if (name == nullptr || name->empty()) {
    return bad_request("part Content-Disposition has no name parameter");
  }
  part.name = without_controls(*name);
  if (part.name.size() != name->size()) {
    return bad_request("part name must not contain control characters");
  }
  // RFC 6266: filename* wins over filename when both are present.
  if (const auto* ext = find_parameter(*params, "filename*")) {
    auto decoded = decode_ext_value(*ext);
    if (!decoded) return decoded.error();
    part.filename = without_controls(*decoded);
  } else if (const auto* filename = find_parameter(*params, "filename")) {
    part.filename = without_controls(*filename);
  }
  return {};
}

// Parses the header block of one part (the bytes between the delimiter line and the blank line,
// without the final CRLF).
Result<void> parse_part_headers(std::string_view block, FormPart& part) {
  bool has_disposition = false;
  bool has_type = false;
  while (!block.empty()) {
    const auto eol = block.find("\r\n");
    const auto line = block.substr(0, eol);
    block.remove_prefix(eol == std::string_view::npos ? block.size() : eol + 2);
    for (char c : line) {
      // Bare CR/LF and NUL inside a header line are how header injection and parser
      // differentials start; HTAB is legal white space.
      if (is_control(c) && c != '\t') {
        return bad_request("part header contains a control character");
      }
    }
    if (line.empty() || is_ows(line.front())) {
      return bad_request("folded or empty part header lines are not supported");
    }
    const auto colon = line.find(':');
    auto name_view = line.substr(0, colon);
    if (colon == std::string_view::npos || name_view.empty() ||
        take_token(name_view).size() != colon) {
      return bad_request("malformed part header line");
    }
    std::string name = lower(line.substr(0, colon));
    const auto value = trim_ows(line.substr(colon + 1));
    if (name == "content-disposition") {
      if (has_disposition) return bad_request("part has two Content-Disposition headers");
      has_disposition = true;
      auto applied = apply_content_disposition(value, part);
      if (!applied) return applied.error();
    } else if (name == "content-type") {
      if (has_type) return bad_request("part has two Content-Type headers");
      has_type = true;
      if (value.empty()) return bad_request("part Content-Type is empty");
      part.content_type = std::string(value);
    } else if (name == "content-transfer-encoding") {
      // Deprecated by RFC 7578; decoding base64/quoted-printable here would let an encoded
      // payload slip past checks that look at the raw bytes.
      if (!iequals(value, "binary") && !iequals(value, "8bit") && !iequals(value, "7bit")) {
        return bad_request("part Content-Transfer-Encoding is not supported");
      }
    }
    part.headers.emplace_back(std::move(name), std::string(value));
  }
  if (!has_disposition) return bad_request("part has no Content-Disposition header");
  return {};
}

enum class AfterDelimiter { next_part, close, truncated, garbage };

// What follows "--boundary": "--" closes the body; optional transport padding and CRLF start
// the next part. Anything else means the "boundary" was only a prefix of a line, which RFC 2046
// forbids inside content, so it is refused rather than guessed at.
AfterDelimiter classify_after_delimiter(std::string_view rest, std::size_t& consumed) {
  if (rest.starts_with("--")) return AfterDelimiter::close;
  std::size_t i = 0;
  while (i < rest.size() && is_ows(rest[i])) ++i;
  const auto tail = rest.substr(i);
  if (tail.starts_with("\r\n")) {
    consumed = i + 2;
    return AfterDelimiter::next_part;
  }
  if (tail.empty() || tail == "\r" || (i == 0 && tail == "-")) return AfterDelimiter::truncated;
  return AfterDelimiter::garbage;
}

}  // namespace

Result<std::string> multipart_boundary(std::string_view content_type_header) {
  const auto value = trim_ows(content_type_header);
  const auto semicolon = value.find(';');
  if (!iequals(trim_ows(value.substr(0, semicolon)), "multipart/form-data")) {
    return fail(Errc::unsupported_media_type, "request body must be multipart/form-data");
  }
  auto params = parse_parameters(
      semicolon == std::string_view::npos ? std::string_view{} : value.substr(semicolon),
      "Content-Type");
  if (!params) return params.error();
  const auto* boundary = find_parameter(*params, "boundary");
  if (boundary == nullptr) return bad_request("multipart Content-Type has no boundary parameter");
  if (boundary->empty() || boundary->size() > 70 || boundary->back() == ' ') {
    return bad_request("multipart boundary must be 1 to 70 characters, not ending in a space");
  }
  for (char c : *boundary) {
    if (!is_bchar(c))
      return bad_request("multipart boundary contains a character RFC 2046 forbids");
  }
  return *boundary;
}

Result<std::vector<FormPart>> parse_multipart(std::string_view content_type_header,
                                              std::string_view body,
                                              const MultipartLimits& limits) {
  auto boundary = multipart_boundary(content_type_header);
  if (!boundary) return boundary.error();
  if (body.size() > limits.max_total_bytes) {
    return fail(Errc::payload_too_large, "multipart body is larger than " +
                                             std::to_string(limits.max_total_bytes) + " bytes");
  }
  const std::string dash_boundary = "--" + *boundary;
  const std::string delimiter = "\r\n" + dash_boundary;
  const auto missing_close = [] { return bad_request("multipart body has no closing boundary"); };

  // The first delimiter may follow a preamble (RFC 2046), which is ignored.
  std::size_t pos = 0;
  if (body.starts_with(dash_boundary)) {
    pos = dash_boundary.size();
  } else {
    const auto first = body.find(delimiter);
    if (first == std::string_view::npos) {
      return bad_request("multipart body does not contain the boundary");
    }
    pos = first + delimiter.size();
  }

  std::vector<FormPart> parts;
  std::unordered_set<std::string> names;
  for (;;) {
    std::size_t consumed = 0;
    switch (classify_after_delimiter(body.substr(pos), consumed)) {
      case AfterDelimiter::close:
        return parts;  // the epilogue, if any, is ignored
      case AfterDelimiter::truncated:
        return missing_close();
      case AfterDelimiter::garbage:
        return bad_request("multipart boundary line is followed by unexpected characters");
      case AfterDelimiter::next_part:
        break;
    }
    pos += consumed;
    if (parts.size() == limits.max_parts) {
      return bad_request("multipart body has more than " + std::to_string(limits.max_parts) +
                         " parts");
    }

    // Header block: up to the first blank line, searched only within the limit so an endless
    // header costs at most max_part_header_bytes of scanning.
    const auto rest = body.substr(pos);
    std::size_t header_bytes = 0;
    if (!rest.starts_with("\r\n")) {
      const auto window = rest.substr(0, limits.max_part_header_bytes + 4);
      header_bytes = window.find("\r\n\r\n");
      if (header_bytes == std::string_view::npos) {
        if (window.size() < rest.size()) {
          return bad_request("multipart part headers are longer than " +
                             std::to_string(limits.max_part_header_bytes) + " bytes");
        }
        return missing_close();
      }
      header_bytes += 2;  // keep the last header line's CRLF out of the block but count it here
    }
    FormPart part;
    auto headers =
        parse_part_headers(rest.substr(0, header_bytes == 0 ? 0 : header_bytes - 2), part);
    if (!headers) {
      return bad_request("multipart part " + std::to_string(parts.size() + 1) + ": " +
                         headers.error().message);
    }
    const auto data_begin = pos + header_bytes + 2;

    // The part ends at the next CRLF "--boundary". std::string_view::find is linear here: the
    // delimiter starts with CR and no bchar is CR, so failed partial matches never overlap.
    const auto data_end = body.find(delimiter, data_begin);
    if (data_end == std::string_view::npos) return missing_close();
    part.data = body.substr(data_begin, data_end - data_begin);
    if (!names.insert(part.name).second) {
      return bad_request("multipart field " + quoted_name(part.name) + " appears twice");
    }
    parts.push_back(std::move(part));
    pos = data_end + delimiter.size();
  }
}

const FormPart* find_part(const std::vector<FormPart>& parts, std::string_view name) noexcept {
  for (const auto& part : parts) {
    if (part.name == name) return &part;
  }
  return nullptr;
}

}  // namespace parley::net
