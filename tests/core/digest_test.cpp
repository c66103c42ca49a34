#include "core/digest.hpp"

#include <gtest/gtest.h>

namespace parley::core {
namespace {

TEST(Digest, KnownVectors) {
  // FIPS 180-2 "abc" and RFC 4231 test case 2.
  EXPECT_EQ(to_hex(sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(to_hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // SECURITY.md D27, Stripe's test helper vector: HMAC of the payload only.
  EXPECT_EQ(to_hex(hmac_sha256("test_secret", R"({"obj1":"hello","obj2":"world"})")),
            "bebb1a643997f419b315ddba19e6f5411e1ce7f810ba6d3617ce72823092f363");
  EXPECT_TRUE(constant_time_equal("same", "same"));
  EXPECT_FALSE(constant_time_equal("same", "sane"));
  EXPECT_FALSE(constant_time_equal("same", "same!"));
}

TEST(Digest, APreparedHmacKeyGivesTheSameMacEveryTimeAndFromEveryCopy) {
  // RFC 4231 test cases 2 and 6 (a key longer than the block, hashed first).
  const HmacSha256Key jefe("Jefe");
  EXPECT_EQ(to_hex(jefe.mac("what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(to_hex(jefe.mac("what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
      << "the prepared state is copied, never advanced";
  const HmacSha256Key long_key(std::string(131, '\xaa'));
  const HmacSha256Key copy = long_key;
  EXPECT_EQ(to_hex(copy.mac("Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  EXPECT_EQ(copy.mac(""), hmac_sha256(std::string(131, '\xaa'), ""));
}

}  // namespace
}  // namespace parley::core
