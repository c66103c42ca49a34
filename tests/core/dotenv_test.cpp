#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/config.hpp"

namespace parley::core {
namespace {

TEST(Dotenv, ParsesPlainQuotedExportedAndCommentedLines) {
  auto parsed = parse_dotenv(
      "# a comment\n"
      "\n"
      "PLAIN=value\n"
      "export EXPORTED=yes\n"
      "SPACED = padded value   \n"
      "INLINE=abc # trailing comment\n"
      "HASH_IN_VALUE=abc#def\n"
      "DOUBLE=\"line1\\nline2 \\\"q\\\"\"\n"
      "SINGLE='raw \\n # not a comment'\n"
      "EMPTY=\n"
      "CRLF=windows\r\n");
  ASSERT_TRUE(parsed) << parsed.error().message;
  auto& m = *parsed;
  EXPECT_EQ(m["PLAIN"], "value");
  EXPECT_EQ(m["EXPORTED"], "yes");
  EXPECT_EQ(m["SPACED"], "padded value");
  EXPECT_EQ(m["INLINE"], "abc");
  EXPECT_EQ(m["HASH_IN_VALUE"], "abc#def");
  EXPECT_EQ(m["DOUBLE"], "line1\nline2 \"q\"");
  EXPECT_EQ(m["SINGLE"], "raw \\n # not a comment");
  EXPECT_EQ(m["EMPTY"], "");
  EXPECT_EQ(m["CRLF"], "windows");
}

TEST(Dotenv, ReportsTheLineOfASyntaxError) {
  auto missing_eq = parse_dotenv("A=1\nJUSTTEXT\n");
  ASSERT_FALSE(missing_eq);
  EXPECT_EQ(missing_eq.error().message, "line 2: expected NAME=value");

  auto bad_name = parse_dotenv("1ABC=x\n");
  ASSERT_FALSE(bad_name);
  EXPECT_NE(bad_name.error().message.find("line 1"), std::string::npos);

  auto unterminated = parse_dotenv("A=\"open\n");
  ASSERT_FALSE(unterminated);
  EXPECT_NE(unterminated.error().message.find("unterminated"), std::string::npos);

  auto trailing = parse_dotenv("A=\"closed\" junk\n");
  ASSERT_FALSE(trailing);
}

TEST(Dotenv, RealEnvironmentWinsOverTheFile) {
  const auto path = std::filesystem::temp_directory_path() / "parley-dotenv-test.env";
  {
    std::ofstream out(path);
    out << "FROM_FILE=file\nBOTH=file\n";
  }
  Environment env(std::map<std::string, std::string>{{"BOTH", "process"}});
  ASSERT_TRUE(env.merge_dotenv_file(path.string()));
  EXPECT_EQ(env.get("FROM_FILE"), "file");
  EXPECT_EQ(env.get("BOTH"), "process");
  std::filesystem::remove(path);
}

TEST(Dotenv, AMissingFileIsFineAndABadOneNamesTheFile) {
  Environment env;
  EXPECT_TRUE(env.merge_dotenv_file("/nonexistent/parley/.env"));

  const auto path = std::filesystem::temp_directory_path() / "parley-dotenv-bad.env";
  {
    std::ofstream out(path);
    out << "oops\n";
  }
  auto merged = env.merge_dotenv_file(path.string());
  ASSERT_FALSE(merged);
  EXPECT_NE(merged.error().message.find(path.string()), std::string::npos);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace parley::core
