#pragma once
// Text checks for chat content that JSON parsing alone does not make. Pure functions,
// thread-safe.

#include <cstddef>
#include <string>
#include <string_view>

namespace parley::chat {

/// True when `text` is well-formed UTF-8: no overlong forms, no surrogates, nothing above
/// U+10FFFF, no truncated sequence.
bool is_valid_utf8(std::string_view text) noexcept;

/// True when valid UTF-8 `text` holds a C0 control (other than the ones in `allowed`), DEL, or a
/// C1 control (U+0080..U+009F).
bool has_control_characters(std::string_view text, std::string_view allowed = {}) noexcept;

/// Unicode code points in valid UTF-8 text.
std::size_t code_points(std::string_view text) noexcept;

/// `text` without surrounding ASCII white space.
std::string_view trim(std::string_view text) noexcept;

/// `text` made safe as the operand of `LIKE ... ESCAPE '\'`: `\`, `%` and `_` match literally.
std::string escape_like(std::string_view text);

}  // namespace parley::chat
