// The text checks chat content goes through: UTF-8 well-formedness, control characters, LIKE
// escaping.

#include "chat/text_rules.hpp"

#include <gtest/gtest.h>

namespace parley::chat {
namespace {

TEST(TextRules, Utf8WellFormedness) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("hello"));
  EXPECT_TRUE(is_valid_utf8("h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80"));  // é € 😀
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));                                   // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xE0\x80\xAF"));                               // overlong
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));                               // surrogate
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));                           // > U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xE2\x82"));                                   // truncated
  EXPECT_FALSE(is_valid_utf8("\x80"));                                       // lone continuation
  EXPECT_FALSE(is_valid_utf8("\xFF"));
}

TEST(TextRules, ControlCharacters) {
  EXPECT_FALSE(has_control_characters("plain text"));
  EXPECT_TRUE(has_control_characters("line\nbreak"));
  EXPECT_FALSE(has_control_characters("line\nbreak\ttab", "\n\t"));
  EXPECT_TRUE(has_control_characters("carriage\rreturn", "\n\t"));
  EXPECT_TRUE(has_control_characters(std::string_view("nul\0byte", 8), "\n\t"));
  EXPECT_TRUE(has_control_characters("del\x7F"));
  EXPECT_TRUE(has_control_characters("c1\xC2\x85"));  // U+0085 NEL
  EXPECT_FALSE(has_control_characters("\xC2\xA0"));   // U+00A0 is not a control
}

TEST(TextRules, TrimAndCount) {
  EXPECT_EQ(trim("  a b \t\n"), "a b");
  EXPECT_EQ(trim(" \t "), "");
  EXPECT_EQ(code_points("h\xC3\xA9llo"), 5u);
}

TEST(TextRules, LikeEscaping) {
  EXPECT_EQ(escape_like("100%"), "100\\%");
  EXPECT_EQ(escape_like("a_b"), "a\\_b");
  EXPECT_EQ(escape_like("back\\slash"), "back\\\\slash");
  EXPECT_EQ(escape_like("it's"), "it's");  // quotes need nothing: the pattern is bound
}

}  // namespace
}  // namespace parley::chat
