#include "auth/password_policy.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace parley::auth {
namespace {

void expect_rejected(const PasswordPolicy& policy, std::string_view password,
                     std::string_view message_part = {}) {
  const auto result = policy.check(password);
  ASSERT_TRUE(result.has_error()) << password;
  EXPECT_EQ(result.error().code, Errc::validation_failed);
  EXPECT_NE(result.error().message.find(message_part), std::string::npos) << result.error().message;
}

std::string repeat(std::string_view unit, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += unit;
  return out;
}

// SECURITY.md A1: 8 accepted, 7 refused, 64 accepted, more than 128 refused.
TEST(PasswordPolicy, LengthLimitsCountCodePoints) {
  const PasswordPolicy policy;
  EXPECT_TRUE(policy.check("tr0ub4d!").has_value());
  expect_rejected(policy, "tr0ub4d", "password must be at least 8 characters");
  EXPECT_TRUE(policy.check(repeat("x7", 32)).has_value());
  EXPECT_TRUE(policy.check(repeat("y", 128)).has_value());
  expect_rejected(policy, repeat("y", 129), "at most 128");
  // 7 emoji are 28 bytes but 7 characters; 8 are accepted.
  expect_rejected(policy, repeat("\xf0\x9f\x98\x80", 7), "at least 8");
  EXPECT_TRUE(policy.check(repeat("\xf0\x9f\x98\x80", 8)).has_value());
  // 128 four-byte characters are accepted (512 bytes); the limit is in characters.
  EXPECT_TRUE(policy.check(repeat("\xf0\x9f\x98\x80", 128)).has_value());
  expect_rejected(policy, repeat("\xc3\xa9", 129), "at most 128");
}

// SECURITY.md A3: spaces and emoji allowed, no composition rules.
TEST(PasswordPolicy, NoCompositionRules) {
  const PasswordPolicy policy;
  EXPECT_TRUE(policy.check("correct horse battery staple").has_value());
  EXPECT_TRUE(policy.check("alllowercaseletters").has_value());
  EXPECT_TRUE(policy.check("p\xc3\xa4ssw\xc3\xb6rd-\xf0\x9f\x98\x80").has_value());
  EXPECT_TRUE(policy.check("        x").has_value());
}

TEST(PasswordPolicy, RejectsInvalidUtf8AndNul) {
  const PasswordPolicy policy;
  for (std::string_view bad : {
           std::string_view("abcdefgh\xff"),
           std::string_view("abcdefgh\xc3"),              // truncated sequence
           std::string_view("abcdefgh\xc0\xaf"),          // overlong '/'
           std::string_view("abcdefgh\xe0\x80\xaf"),      // overlong
           std::string_view("abcdefgh\xed\xa0\x80"),      // UTF-16 surrogate
           std::string_view("abcdefgh\xf4\x90\x80\x80"),  // above U+10FFFF
           std::string_view("abcdefgh\x80"),              // stray continuation
           std::string_view("abcd\0efghij", 11),
       }) {
    expect_rejected(policy, bad, "UTF-8");
  }
}

TEST(PasswordPolicy, Utf8LengthHelper) {
  EXPECT_EQ(utf8_length(""), 0u);
  EXPECT_EQ(utf8_length("abc"), 3u);
  EXPECT_EQ(utf8_length("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"), 3u);  // é € 😀
  EXPECT_EQ(utf8_length("\xf4\x8f\xbf\xbf"), 1u);                      // U+10FFFF
  EXPECT_FALSE(utf8_length("\xf8\x88\x80\x80\x80"));
}

TEST(PasswordPolicy, CommonPasswordsAreRejectedCaseInsensitively) {
  const PasswordPolicy policy;
  for (std::string_view common :
       {"password", "PASSWORD", "Password1", "12345678", "qwertyuiop", "iloveyou", "11111111",
        "1q2w3e4r", "sunshine", "Football", "trustno1", "P@ssw0rd"}) {
    EXPECT_TRUE(PasswordPolicy::is_common(common)) << common;
    expect_rejected(policy, common, "too common");
  }
  EXPECT_FALSE(PasswordPolicy::is_common("password-but-not-common-7"));
  EXPECT_FALSE(PasswordPolicy::is_common(""));
}

TEST(PasswordPolicy, MustNotEqualUsernameOrEmail) {
  const PasswordPolicy policy;
  EXPECT_TRUE(policy.check("alice@example.com", {"alice", "bob@example.com"}).has_value());
  const auto result = policy.check("Alice@Example.com", {"alice", "alice@example.com"});
  ASSERT_TRUE(result.has_error());
  EXPECT_EQ(result.error().code, Errc::validation_failed);
  EXPECT_TRUE(policy.check("some long phrase", {"", ""}).has_value());
}

TEST(PasswordPolicy, LimitsAreConfigurableButNotBelowTheStandard) {
  const PasswordPolicy strict({.min_length = 15, .max_length = 64});
  expect_rejected(strict, "fourteen chars", "at least 15");
  EXPECT_TRUE(strict.check("fifteen chars!!").has_value());
  expect_rejected(strict, repeat("z", 65), "at most 64");
  EXPECT_THROW(PasswordPolicy({.min_length = 7}), std::invalid_argument);
  EXPECT_THROW(PasswordPolicy({.min_length = 8, .max_length = 32}), std::invalid_argument);
  EXPECT_THROW(PasswordPolicy({.min_length = 100, .max_length = 99}), std::invalid_argument);
}

}  // namespace
}  // namespace parley::auth
