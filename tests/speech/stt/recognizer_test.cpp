// BCP47 primary subtags and displayable language tags.

#include "speech/stt/recognizer.hpp"

#include <gtest/gtest.h>

#include <string>

namespace parley::speech::stt {
namespace {

TEST(PrimaryLanguageTest, TakesTheFirstSubtagLowerCased) {
  EXPECT_EQ(primary_language("en"), "en");
  EXPECT_EQ(primary_language("en-US"), "en");
  EXPECT_EQ(primary_language("PT_br"), "pt");
  EXPECT_EQ(primary_language("zh-Hant-TW"), "zh");
  EXPECT_EQ(primary_language("auto"), "auto");
  EXPECT_EQ(primary_language(""), "");
  EXPECT_EQ(primary_language("e"), "");
  EXPECT_EQ(primary_language("-US"), "");
  EXPECT_EQ(primary_language("e1"), "");
  EXPECT_EQ(primary_language("abcdefghi"), "");
  EXPECT_EQ(primary_language("é"), "");
}

TEST(PrimaryLanguageTest, DisplayableLanguageIsShortAndPrintable) {
  EXPECT_EQ(displayable_language("en-US"), "en-US");
  EXPECT_EQ(displayable_language("x\r\ny\x01é"), "x??y???");
  EXPECT_EQ(displayable_language(std::string(100, 'a')).size(), 35U);
}

}  // namespace
}  // namespace parley::speech::stt
