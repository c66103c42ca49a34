#include "auth/password_policy.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <string>

namespace parley::auth {

namespace {

// Compiled into the binary so a deployment cannot lose it; sorted, so lookups binary-search.
constexpr std::string_view kCommonPasswords[] = {
#include "auth/common_passwords.inc"
};
static_assert(std::is_sorted(std::begin(kCommonPasswords), std::end(kCommonPasswords)),
              "common_passwords.inc must stay sorted");
static_assert(std::adjacent_find(std::begin(kCommonPasswords), std::end(kCommonPasswords)) ==
                  std::end(kCommonPasswords),
              "common_passwords.inc must not repeat entries");

// Only ASCII letters are folded: enough for a list of ASCII-dominated passwords, and it never
// changes the byte length, so it cannot turn invalid input into valid input.
std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

std::optional<std::size_t> utf8_length(std::string_view text) noexcept {
  std::size_t count = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    std::size_t extra = 0;
    char32_t cp = 0;
    if (b0 < 0x80) {
      cp = b0;
    } else if (b0 >= 0xC2 && b0 <= 0xDF) {  // 0xC0/0xC1 would only start overlong forms
      extra = 1;
      cp = b0 & 0x1F;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      extra = 2;
      cp = b0 & 0x0F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      extra = 3;
      cp = b0 & 0x07;
    } else {
      return std::nullopt;
    }
    if (text.size() - i <= extra) return std::nullopt;
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto b = static_cast<unsigned char>(text[i + k]);
      if ((b & 0xC0) != 0x80) return std::nullopt;
      cp = (cp << 6) | (b & 0x3F);
    }
    if ((extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return std::nullopt;
    }
    i += extra + 1;
    ++count;
  }
  return count;
}

PasswordPolicy::PasswordPolicy(PasswordPolicyOptions options) : options_(options) {
  if (options_.min_length < 8 || options_.max_length < options_.min_length ||
      options_.max_length < 64) {
    throw std::invalid_argument(
        "password policy: need 8 <= min_length <= max_length and max_length >= 64");
  }
}

bool PasswordPolicy::is_common(std::string_view password) {
  const std::string lowered = ascii_lower(password);
  return std::binary_search(std::begin(kCommonPasswords), std::end(kCommonPasswords),
                            std::string_view(lowered));
}

Result<void> PasswordPolicy::check(std::string_view password,
                                   std::initializer_list<std::string_view> context) const {
  const auto length = utf8_length(password);
  // NUL is refused because C APIs downstream (crypt, logs) would silently cut the string there.
  if (!length || password.find('\0') != std::string_view::npos) {
    return fail(Errc::validation_failed, "password must be valid UTF-8 text");
  }
  const std::size_t code_points = *length;
  if (code_points < options_.min_length) {
    return fail(Errc::validation_failed,
                "password must be at least " + std::to_string(options_.min_length) + " characters");
  }
  if (code_points > options_.max_length) {
    return fail(Errc::validation_failed,
                "password must be at most " + std::to_string(options_.max_length) + " characters");
  }
  const std::string lowered = ascii_lower(password);
  for (std::string_view value : context) {
    if (!value.empty() && ascii_lower(value) == lowered) {
      return fail(Errc::validation_failed, "password must not be your username or email address");
    }
  }
  if (is_common(password)) {
    return fail(Errc::validation_failed,
                "this password is too common and easy to guess; please choose another");
  }
  return {};
}

}  // namespace parley::auth
