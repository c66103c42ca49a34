#include "auth/password_hasher.hpp"

#include <crypt.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <array>
#include <memory>
#include <stdexcept>
#include <string>

#include "core/base64.hpp"
#include "core/digest.hpp"

namespace parley::auth {

namespace {

// Used as the HMAC key when no pepper is configured: the pre-hash then only serves to turn any
// password into 44 bytes that bcrypt reads in full. Versioned so a future scheme can differ.
constexpr std::string_view kDefaultPrehashKey = "parley/bcrypt-prehash/v1";
constexpr std::size_t kBcryptLength = 60;  // "$2b$12$" + 22 salt + 31 hash characters
constexpr std::size_t kBcryptMaxKeyBytes = 72;

using core::hmac_sha256;

// Overwrites a secret-bearing buffer before it is freed.
template <class T>
void cleanse(T& buffer) noexcept {
  if (!buffer.empty()) OPENSSL_cleanse(buffer.data(), buffer.size());
}

// Flask-Bcrypt's BCRYPT_HANDLE_LONG_PASSWORDS input: hashlib.sha256(pw).hexdigest().
std::string sha256_hex(std::string_view data) {
  auto digest = core::sha256(data);
  std::string out = core::to_hex(digest);
  cleanse(digest);
  return out;
}

bool is_bcrypt_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '/';
}

struct ParsedBcrypt {
  char variant = 0;  // 'a', 'b' or 'y'
  int cost = 0;
};

// Strict shape check before anything reaches libxcrypt: "$2[aby]$CC$" + 53 bcrypt characters.
bool parse_bcrypt(std::string_view s, ParsedBcrypt& out) {
  if (s.size() != kBcryptLength || s[0] != '$' || s[1] != '2' || s[3] != '$' || s[6] != '$') {
    return false;
  }
  if (s[2] != 'a' && s[2] != 'b' && s[2] != 'y') return false;
  if (s[4] < '0' || s[4] > '9' || s[5] < '0' || s[5] > '9') return false;
  const int cost = (s[4] - '0') * 10 + (s[5] - '0');
  if (cost < PasswordHasher::kMinTestCost || cost > PasswordHasher::kMaxCost) return false;
  for (char c : s.substr(7)) {
    if (!is_bcrypt_char(c)) return false;
  }
  out.variant = s[2];
  out.cost = cost;
  return true;
}

// Old rows were sometimes written as str(bytes) by Python: "b'$2b$12$...'".
std::string_view strip_python_bytes_repr(std::string_view s) {
  if (s.size() >= 3 && s[0] == 'b' && (s[1] == '\'' || s[1] == '"') && s.back() == s[1]) {
    return s.substr(2, s.size() - 3);
  }
  return s;
}

// Runs bcrypt with `expected` as the setting (libxcrypt reads the variant, cost and salt from
// it) and compares the output with `expected` in constant time. `expected` must have passed
// parse_bcrypt() or come from gensalt(); `input` must hold no NUL (crypt takes C strings).
bool bcrypt_matches(const std::string& input, std::string_view expected) {
  auto data = std::make_unique<crypt_data>();  // value-initialised: zeroed as libxcrypt asks
  const std::string setting(expected);
  const char* out = crypt_rn(input.c_str(), setting.c_str(), data.get(), sizeof(crypt_data));
  bool ok = false;
  if (out != nullptr) {
    const std::string_view computed(out);
    ok = computed.size() == expected.size() &&
         CRYPTO_memcmp(computed.data(), expected.data(), expected.size()) == 0;
  }
  OPENSSL_cleanse(data.get(), sizeof(crypt_data));
  return ok;
}

// Configuration errors are fatal at start-up (STYLE.md, Envoy's rule).
PasswordHasherOptions checked(PasswordHasherOptions options, int min_cost) {
  if (options.cost < min_cost || options.cost > PasswordHasher::kMaxCost) {
    throw std::invalid_argument("bcrypt cost must be between " + std::to_string(min_cost) +
                                " and " + std::to_string(PasswordHasher::kMaxCost));
  }
  return options;
}

std::string gensalt(int cost) {
  std::array<char, CRYPT_GENSALT_OUTPUT_SIZE> salt{};
  // rbytes == nullptr: libxcrypt draws the salt from the OS CSPRNG itself.
  if (crypt_gensalt_rn("$2b$", static_cast<unsigned long>(cost), nullptr, 0, salt.data(),
                       static_cast<int>(salt.size())) == nullptr) {
    throw std::runtime_error("libxcrypt: crypt_gensalt_rn failed");
  }
  return std::string(salt.data());
}

}  // namespace

PasswordHasher::PasswordHasher(PasswordHasherOptions options)
    : PasswordHasher(checked(std::move(options), kMinCost), TestTag{}) {}

// The tag constructor trusts its caller to have range-checked the cost.
PasswordHasher::PasswordHasher(PasswordHasherOptions options, TestTag)
    : cost_(options.cost),
      key_(options.pepper.empty() ? std::string(kDefaultPrehashKey) : std::move(options.pepper)),
      legacy_long_password_mode_(options.legacy_long_password_mode),
      dummy_setting_(gensalt(cost_)) {}

PasswordHasher PasswordHasher::insecure_for_tests(PasswordHasherOptions options) {
  return PasswordHasher(checked(std::move(options), kMinTestCost), TestTag{});
}

std::string PasswordHasher::prehash(std::string_view password) const {
  auto mac = hmac_sha256(key_, password);
  std::string out =
      core::base64_encode(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
  cleanse(mac);
  return out;
}

std::string PasswordHasher::hash(std::string_view password) const {
  std::string input = prehash(password);
  const std::string setting = gensalt(cost_);
  auto data = std::make_unique<crypt_data>();
  const char* out = crypt_rn(input.c_str(), setting.c_str(), data.get(), sizeof(crypt_data));
  std::string result = out != nullptr ? std::string(out) : std::string();
  OPENSSL_cleanse(data.get(), sizeof(crypt_data));
  cleanse(input);
  ParsedBcrypt parsed;
  if (!parse_bcrypt(result, parsed)) throw std::runtime_error("libxcrypt: bcrypt failed");
  return std::string(kSchemePrefix) + result;
}

VerifyResult PasswordHasher::verify(std::string_view password,
                                    std::string_view stored) const noexcept {
  try {
    stored = strip_python_bytes_repr(stored);
    const bool ours = stored.starts_with(kSchemePrefix);
    if (ours) stored.remove_prefix(kSchemePrefix.size());
    ParsedBcrypt parsed;
    if (!parse_bcrypt(stored, parsed)) {
      // Same cost as a real check, so a corrupt or foreign hash is not visible in the timing.
      burn_time(password);
      return {};
    }

    std::string input;
    if (ours) {
      input = prehash(password);
    } else if (legacy_long_password_mode_) {
      input = sha256_hex(password);
    } else {
      // Python bcrypt refused NUL bytes, so no legacy hash can match one; bcrypt reads at most
      // 72 bytes, and cutting here keeps libxcrypt's 512-byte input limit out of the way.
      if (password.find('\0') != std::string_view::npos) {
        burn_time(password);
        return {};
      }
      input = std::string(password.substr(0, kBcryptMaxKeyBytes));
    }
    const bool ok = bcrypt_matches(input, stored);
    cleanse(input);
    if (!ok) return {};
    // Legacy formats move to ours at the next login; so do weaker costs and non-2b variants.
    return {true, !ours || parsed.cost < cost_ || parsed.variant != 'b'};
  } catch (...) {
    // Only allocation or OpenSSL failures can get here: treat as "no match", never crash.
    return {};
  }
}

void PasswordHasher::burn_time(std::string_view password) const noexcept {
  try {
    std::string input = prehash(password);
    // The dummy setting has no hash part, so this can never match; only the work matters.
    (void)bcrypt_matches(input, dummy_setting_);
    cleanse(input);
  } catch (...) {
    // Timing equalisation is best effort; failing here must not fail the request.
  }
}

}  // namespace parley::auth
