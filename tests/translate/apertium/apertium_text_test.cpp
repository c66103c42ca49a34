#include "translate/apertium/apertium_text.hpp"

#include <gtest/gtest.h>

#include <string>

namespace parley::translate::apertium {
namespace {

TEST(ApertiumText, EscapesEveryReservedCharacter) {
  EXPECT_EQ(escape_for_apertium("plain text, 100% ok."), "plain text, 100% ok.");
  EXPECT_EQ(escape_for_apertium("$@/<>{}[]*#+|\\"), "\\$\\@\\/\\<\\>\\{\\}\\[\\]\\*\\#\\+\\|\\\\");
  EXPECT_EQ(escape_for_apertium("a^b"), "a[\xee\x81\x9e]b");
  EXPECT_EQ(escape_for_apertium("a~b"), "a[\\~]b");
  EXPECT_EQ(escape_for_apertium(std::string("a\0b", 3)), "ab");
  EXPECT_EQ(escape_for_apertium("línea\nñ 😀"), "línea\nñ 😀");
}

TEST(ApertiumText, UnescapesOutput) {
  EXPECT_EQ(unescape_apertium_output("La casa"), "La casa");
  EXPECT_EQ(unescape_apertium_output("\\^el queso\\$ \\@foo d\\/e f\\\\g"),
            "^el queso$ @foo d/e f\\g");
  EXPECT_EQ(unescape_apertium_output("x[\\~]y [\\~]"), "x~y ~");
  EXPECT_EQ(unescape_apertium_output("x[\xee\x81\x9e]y"), "x^y");
  // U+E05E typed by the user (outside a superblank) stays as it is.
  EXPECT_EQ(unescape_apertium_output("x\xee\x81\x9e"), "x\xee\x81\x9e");
  // Unescaped '@' is a transfer mark; '*' and '#' come back only when the user typed them.
  EXPECT_EQ(unescape_apertium_output("@Smurfette es *bold* #tag"), "Smurfette es *bold* #tag");
  // An unclosed bracket or a trailing backslash is kept as it is.
  EXPECT_EQ(unescape_apertium_output("a [b"), "a [b");
  EXPECT_EQ(unescape_apertium_output("a\\"), "a\\");
}

TEST(ApertiumText, RoundTripWithoutTranslationKeepsText) {
  for (const std::string text :
       {"a^b$c", "{x} [y] <z>", "~~ ~", "a/b|c+d", "back\\slash", "mail@example.com", "[\\~]",
        "^^ ^", "[\xee\x81\x9e] \xee\x81\x9e"}) {
    EXPECT_EQ(unescape_apertium_output(escape_for_apertium(text)), text) << text;
  }
}

TEST(ApertiumText, ValidatesUtf8) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("ascii"));
  EXPECT_TRUE(is_valid_utf8("ñàç € 😀 中文"));
  EXPECT_FALSE(is_valid_utf8("\xff"));
  EXPECT_FALSE(is_valid_utf8("ab\xc3"));            // truncated
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xe0\x80\xaf"));      // overlong
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xe2\x82"));          // truncated €
  EXPECT_FALSE(is_valid_utf8("a\x80z"));            // stray continuation byte
}

TEST(ApertiumText, MapsLanguageCodes) {
  EXPECT_EQ(iso_from_apertium_code("eng"), "en");
  EXPECT_EQ(iso_from_apertium_code("spa"), "es");
  EXPECT_EQ(iso_from_apertium_code("cat"), "ca");
  EXPECT_EQ(iso_from_apertium_code("ita"), "it");
  EXPECT_EQ(iso_from_apertium_code("glg"), "gl");
  EXPECT_EQ(iso_from_apertium_code("gl"), "gl");
  EXPECT_EQ(iso_from_apertium_code("en"), "en");
  EXPECT_EQ(iso_from_apertium_code("ast"), "ast");
  EXPECT_EQ(iso_from_apertium_code("ENG"), "");
  EXPECT_EQ(iso_from_apertium_code("e"), "");
  EXPECT_EQ(iso_from_apertium_code("engl"), "");
}

}  // namespace
}  // namespace parley::translate::apertium
