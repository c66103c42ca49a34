#include "core/random.hpp"

#include <gtest/gtest.h>

#include <set>

namespace parley::core {
namespace {

TEST(Random, HexAndTokensHaveTheRightShapeAndDoNotRepeat) {
  EXPECT_EQ(random_hex(16).size(), 32u);
  EXPECT_EQ(random_token(32).size(), 43u);  // unpadded base64url
  EXPECT_EQ(random_token(1).size(), 2u);
  EXPECT_EQ(random_token(2).size(), 3u);
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(seen.insert(random_token(16)).second);
  for (char c : random_token(300)) {
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_');
  }
}

}  // namespace
}  // namespace parley::core
