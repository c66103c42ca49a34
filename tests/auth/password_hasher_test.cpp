#include "auth/password_hasher.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace parley::auth {
namespace {

// Cost 4 keeps the suite fast; the production minimum is checked separately.
PasswordHasher fast_hasher(PasswordHasherOptions options = {}) {
  options.cost = PasswordHasher::kMinTestCost;
  return PasswordHasher::insecure_for_tests(std::move(options));
}

// Field-by-field: GCC 12 warns (-Wmissing-field-initializers) on designated initializers that
// skip a std::string member.
PasswordHasherOptions with_cost(int cost) {
  PasswordHasherOptions options;
  options.cost = cost;
  return options;
}

PasswordHasherOptions legacy_long_mode() {
  PasswordHasherOptions options;
  options.legacy_long_password_mode = true;
  return options;
}

// SECURITY.md A4 vectors (libxcrypt and python3-bcrypt 3.2.2 agree on them).
constexpr const char* kHorse = "correct horse battery staple";
constexpr const char* kHorseHash = "$2b$12$abcdefghijklmnopqrstuu0sDWleciW5uGBGYwxpcgAsh9WK4bWNy";
constexpr const char* kUnicode = "p\xc3\xa4ssw\xc3\xb6rd-\xf0\x9f\x98\x80";  // pässwörd-😀
constexpr const char* kUnicodeHash = "$2b$10$abcdefghijklmnopqrstuuthsTK34uInSvlHigbZJrYihFr0XM70W";
constexpr const char* kUnicodeLongModeHash =
    "$2b$10$abcdefghijklmnopqrstuu4QDGtHu4yDHmkQWYUDnYB7Z5.MBdIsi";
// Made with libxcrypt's crypt() through python ctypes.
constexpr const char* kLegacyCost4 = "$2b$04$0123456789abcdefghijkeVslVMCmzdsOA2uR5FdCVJu/TdydbnwK";
constexpr const char* kLegacyCost4Y =
    "$2y$04$0123456789abcdefghijkeVslVMCmzdsOA2uR5FdCVJu/TdydbnwK";
// Golden vectors of our own scheme, computed independently in Python:
// "$parley-hmac-sha256$" + bcrypt(base64(HMAC-SHA256(key, pw)), "$2b$04$abcdefghijklmnopqrstuu").
constexpr const char* kOursDefaultKey =
    "$parley-hmac-sha256$$2b$04$abcdefghijklmnopqrstuuazBs2R56W1rMpIRYXk6EHmxN2K86zjO";
constexpr const char* kOursPepper =
    "$parley-hmac-sha256$$2b$04$abcdefghijklmnopqrstuuxVf5dme17Fi/dP9R2sgA7EJNBvXwO2.";

TEST(PasswordHasher, NewHashRoundTripsAndIsSelfDescribing) {
  const auto hasher = fast_hasher();
  const std::string stored = hasher.hash("hunter2 but longer");
  EXPECT_TRUE(stored.starts_with("$parley-hmac-sha256$$2b$04$")) << stored;
  EXPECT_EQ(stored.size(), PasswordHasher::kSchemePrefix.size() + 60);
  const auto good = hasher.verify("hunter2 but longer", stored);
  EXPECT_TRUE(good.ok);
  EXPECT_FALSE(good.needs_rehash);
  EXPECT_FALSE(hasher.verify("hunter2 but longeR", stored).ok);
  EXPECT_FALSE(hasher.verify("", stored).ok);
  EXPECT_NE(hasher.hash("same"), hasher.hash("same"));  // random salt
}

TEST(PasswordHasher, MatchesIndependentlyComputedVectorsOfOurScheme) {
  EXPECT_TRUE(fast_hasher().verify(kHorse, kOursDefaultKey).ok);
  EXPECT_FALSE(fast_hasher().verify(kHorse, kOursPepper).ok);
  const auto peppered = fast_hasher({.pepper = "pepper-for-tests"});
  EXPECT_TRUE(peppered.verify(kHorse, kOursPepper).ok);
  EXPECT_FALSE(peppered.verify(kHorse, kOursDefaultKey).ok);
}

// SECURITY.md A2: bcrypt alone reads only 72 bytes; the pre-hash must make byte 75 count.
TEST(PasswordHasher, LongPasswordsAreNotTruncated) {
  const std::string first(80, 'a');
  std::string second = first;
  second[75] = 'b';
  const auto hasher = fast_hasher();
  const std::string stored = hasher.hash(first);
  EXPECT_TRUE(hasher.verify(first, stored).ok);
  EXPECT_FALSE(hasher.verify(second, stored).ok);
  // Also at the 72-byte boundary and with a very long input.
  const std::string huge(100'000, 'x');
  const std::string huge_stored = hasher.hash(huge);
  EXPECT_TRUE(hasher.verify(huge, huge_stored).ok);
  EXPECT_FALSE(hasher.verify(huge.substr(0, 72), huge_stored).ok);
}

TEST(PasswordHasher, FlaskBcryptVectorsVerifyAndAskForRehash) {
  const auto hasher = fast_hasher();
  for (const char* stored :
       {kHorseHash, "$2a$12$abcdefghijklmnopqrstuu0sDWleciW5uGBGYwxpcgAsh9WK4bWNy"}) {
    const auto result = hasher.verify(kHorse, stored);
    EXPECT_TRUE(result.ok) << stored;
    EXPECT_TRUE(result.needs_rehash) << stored;
    EXPECT_FALSE(hasher.verify("correct horse battery stapl", stored).ok);
  }
  EXPECT_TRUE(hasher.verify(kUnicode, kUnicodeHash).ok);
  EXPECT_FALSE(hasher.verify(kUnicode, kUnicodeLongModeHash).ok);  // needs the flag
}

TEST(PasswordHasher, LegacyLongPasswordMode) {
  const auto hasher = fast_hasher(legacy_long_mode());
  const auto result = hasher.verify(kUnicode, kUnicodeLongModeHash);
  EXPECT_TRUE(result.ok);
  EXPECT_TRUE(result.needs_rehash);
  EXPECT_FALSE(hasher.verify(kUnicode, kUnicodeHash).ok);
  // Our own scheme is unaffected by the legacy flag.
  EXPECT_TRUE(hasher.verify(kHorse, kOursDefaultKey).ok);
}

TEST(PasswordHasher, PythonBytesReprWrapperIsStripped) {
  const auto hasher = fast_hasher();
  EXPECT_TRUE(hasher.verify(kHorse, std::string("b'") + kHorseHash + "'").ok);
  EXPECT_TRUE(hasher.verify(kHorse, std::string("b\"") + kHorseHash + "\"").ok);
  EXPECT_FALSE(hasher.verify(kHorse, std::string("b'") + kHorseHash + "\"").ok);
  EXPECT_FALSE(hasher.verify(kHorse, std::string("'") + kHorseHash + "'").ok);
}

// SECURITY.md A5: a weak legacy cost verifies, and the caller is told to upgrade it.
TEST(PasswordHasher, LowCostAndOtherVariantsNeedRehash) {
  const auto production = PasswordHasher();  // cost 12
  EXPECT_EQ(production.cost(), 12);
  for (const char* stored : {kLegacyCost4, kLegacyCost4Y}) {
    const auto result = production.verify("hunter2-legacy", stored);
    EXPECT_TRUE(result.ok) << stored;
    EXPECT_TRUE(result.needs_rehash) << stored;
  }
  // Our own format at a lower cost than configured also needs a rehash.
  const auto result = production.verify(kHorse, kOursDefaultKey);
  EXPECT_TRUE(result.ok);
  EXPECT_TRUE(result.needs_rehash);
}

TEST(PasswordHasher, GarbageStoredValuesNeverMatchOrThrow) {
  const auto hasher = fast_hasher();
  const std::string valid = kLegacyCost4;
  const std::string cases[] = {
      "",
      "$",
      "$2b$",
      "$2b$04$",
      valid.substr(0, 59),                                             // truncated
      valid + "x",                                                     // too long
      "$2x$04$0123456789abcdefghijkeVslVMCmzdsOA2uR5FdCVJu/TdydbnwK",  // bugged variant
      "$2b$03$0123456789abcdefghijkeVslVMCmzdsOA2uR5FdCVJu/TdydbnwK",  // cost below bcrypt's
      "$2b$32$0123456789abcdefghijkeVslVMCmzdsOA2uR5FdCVJu/TdydbnwK",  // cost above bcrypt's
      "$2b$4a$0123456789abcdefghijkeVslVMCmzdsOA2uR5FdCVJu/TdydbnwK",
      "$2b$04$0123456789abcdefghijkeVslVMCmzdsOA2uR5FdCVJu/Tdydbnw!",  // outside the alphabet
      std::string("$2b$04$0123456789abcdefghijkeVslVMCmzdsOA2uR5FdCVJu/Tdydbnw\0", 60),
      "$1$saltsalt$hash",          // md5crypt
      "$6$rounds=5000$salt$hash",  // sha512crypt
      "*0",
      "plaintext-password",
      "hunter2-legacy",
      "$parley-hmac-sha256$",
      "$parley-hmac-sha256$garbage",
      std::string("$parley-hmac-sha256$") + "$parley-hmac-sha256$" + kLegacyCost4,
      "b''",
      "b'",
      std::string(1'000'000, '$'),
  };
  for (const std::string& stored : cases) {
    const auto result = hasher.verify("hunter2-legacy", stored);
    EXPECT_FALSE(result.ok) << stored.substr(0, 80);
    EXPECT_FALSE(result.needs_rehash) << stored.substr(0, 80);
  }
  // A NUL inside a legacy password must not verify as its prefix.
  EXPECT_FALSE(hasher.verify(std::string("hunter2-legacy\0tail", 19), kLegacyCost4).ok);
}

TEST(PasswordHasher, CostIsValidated) {
  EXPECT_THROW(PasswordHasher(with_cost(9)), std::invalid_argument);
  EXPECT_THROW(PasswordHasher(with_cost(32)), std::invalid_argument);
  EXPECT_THROW(PasswordHasher::insecure_for_tests(with_cost(3)), std::invalid_argument);
  EXPECT_NO_THROW(PasswordHasher(with_cost(10)));
  EXPECT_EQ(PasswordHasher().cost(), PasswordHasher::kDefaultCost);
}

TEST(PasswordHasher, BurnTimeRunsWithoutMatching) {
  const auto hasher = fast_hasher();
  hasher.burn_time();
  hasher.burn_time("anything");
  SUCCEED();
}

}  // namespace
}  // namespace parley::auth
