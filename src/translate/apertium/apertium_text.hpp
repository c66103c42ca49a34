#pragma once
// The text side of talking to Apertium: its stream format reserves characters that plain text
// must escape, and its output carries escapes (and, in some modes, unknown-word marks) that
// users must never see. Pure functions, so they are tested without any engine.

#include <string>
#include <string_view>

namespace parley::translate::apertium {

/// Whether `text` is well-formed UTF-8 (no overlong forms, surrogates or code points past
/// U+10FFFF). Apertium's lt-proc exits on malformed input, which would cost a pipeline restart.
bool is_valid_utf8(std::string_view text) noexcept;

/// Escapes plain text for Apertium's stream format: a backslash before each of \$@/<>{}[]*#+|;
/// every `~` as the superblank `[\~]` (the post-generator deletes `~`, escaped or not, but
/// copies superblanks through untouched) and every `^` as a superblank holding U+E05E (an
/// escaped `^` at the end of a request hangs lrx-proc). NUL bytes, which end a request in
/// null-flush mode, are dropped.
std::string escape_for_apertium(std::string_view text);

/// Turns a pipeline's output back into plain text: `\x` → `x`, superblanks `[...]` → their
/// unescaped content (the U+E05E one → `^`), and unescaped `@` (a transfer-stage mark for a word
/// missing from the bilingual dictionary; every `@` of the input was escaped) removed. Pipelines
/// run with the generator's `-n` option, so they emit no `*word` / `#word` marks; those characters
/// come back only when the user typed them, so they are kept.
std::string unescape_apertium_output(std::string_view output);

/// ISO 639-1 code for an Apertium language code ("eng" → "en", "spa" → "es", "gl" → "gl",
/// "cat" → "ca"); codes without a 639-1 equivalent ("ast", "hbs") come back unchanged; "" for
/// anything that is not 2-3 lower-case letters.
std::string iso_from_apertium_code(std::string_view code);

}  // namespace parley::translate::apertium
