#pragma once
// multipart/form-data (RFC 7578 over RFC 2046) for request bodies that are already in memory.
//
// The parser is deliberately strict: CRLF line endings only, no header folding, no control
// characters in part headers, a delimiter line must be exactly "--boundary" plus optional
// padding. Every leniency is a chance for a proxy, a scanner and this parser to see different
// parts in the same bytes, and browsers and curl never need it.
//
// Errors: a Content-Type that is not multipart/form-data is Errc::unsupported_media_type (415);
// a body larger than MultipartLimits::max_total_bytes is Errc::payload_too_large (413);
// everything else (missing boundary, bad syntax, missing closing boundary, too many parts,
// oversized part headers, duplicate field names) is Errc::invalid_request (400). Messages are
// safe to show to the caller. Nothing here throws for bad input.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace parley::net {

struct MultipartLimits {
  std::size_t max_parts = 16;                ///< more parts is invalid_request
  std::size_t max_part_header_bytes = 8192;  ///< header block of one part, without the blank line
  std::size_t max_total_bytes = 16u << 20;   ///< whole body; more is payload_too_large
};

/// One part of a multipart/form-data body.
///
/// Lifetime: `data` is a view into the `body` passed to parse_multipart (zero-copy: an uploaded
/// image is not duplicated). It dangles once that buffer (usually the Beast request's
/// string_body) is destroyed or modified; copy it before the request goes away.
struct FormPart {
  std::string name;  ///< the Content-Disposition `name` (unique within one body, never empty)
  /// The client's file name for file inputs, or nullopt for plain fields. Informational only:
  /// it is never used as a path (uploads are stored under server-generated ids, SECURITY F45).
  /// Control characters are removed so it is safe to log; otherwise it is the raw value
  /// (`filename*=` from RFC 5987 is decoded and preferred). May be empty: browsers send
  /// `filename=""` for a file input with no file chosen.
  std::optional<std::string> filename;
  std::string content_type = "text/plain";  ///< the part's Content-Type, as sent (trimmed)
  /// Every header of the part in order, names lower-cased, values trimmed.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string_view data;  ///< the part's bytes, exactly as sent (binary-safe); see Lifetime
};

/// The `boundary` parameter of a multipart/form-data Content-Type header value.
///
/// Errors: unsupported_media_type when the media type is not multipart/form-data;
/// invalid_request when the boundary parameter is missing, duplicated, empty, longer than 70
/// characters or uses characters outside RFC 2046's bchars. Thread-safe (pure function).
Result<std::string> multipart_boundary(std::string_view content_type_header);

/// Splits a multipart/form-data body into its parts.
///
/// @param content_type_header the request's Content-Type value, e.g.
///        `multipart/form-data; boundary="----x"`.
/// @param body the complete request body; the returned parts view into it (see FormPart).
/// @param limits caps on parts, per-part header bytes and total size.
/// @return the parts in body order. A body that holds only the closing delimiter (an empty
///         form, as browsers send it) gives an empty vector. Preamble and epilogue are ignored.
/// Errors: see the file comment; the message says what is wrong. Every part needs a
/// `Content-Disposition: form-data; name="..."` header; names must be unique; a
/// Content-Transfer-Encoding other than 7bit/8bit/binary is refused.
/// Thread-safe (pure function); never reads outside `body`.
Result<std::vector<FormPart>> parse_multipart(std::string_view content_type_header,
                                              std::string_view body,
                                              const MultipartLimits& limits = {});

/// The part named `name`, or nullptr. The pointer is valid as long as `parts` is unchanged.
const FormPart* find_part(const std::vector<FormPart>& parts, std::string_view name) noexcept;

}  // namespace parley::net
