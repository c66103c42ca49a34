#include "core/digest.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <memory>
#include <stdexcept>

namespace parley::core {

namespace {
struct MacDeleter {
  void operator()(EVP_MAC* mac) const noexcept { EVP_MAC_free(mac); }
};
struct MacCtxDeleter {
  void operator()(EVP_MAC_CTX* ctx) const noexcept { EVP_MAC_CTX_free(ctx); }
};

const unsigned char* bytes_of(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
}  // namespace

Sha256Digest sha256(std::string_view data) {
  Sha256Digest out{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 ||
      len != out.size()) {
    throw std::runtime_error("OpenSSL: SHA-256 failed");
  }
  return out;
}

namespace {
using MacCtx = std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter>;

/// A context keyed with `key` and ready for data.
MacCtx keyed_context(std::string_view key) {
  std::unique_ptr<EVP_MAC, MacDeleter> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!mac) throw std::runtime_error("OpenSSL: HMAC unavailable");
  MacCtx ctx(EVP_MAC_CTX_new(mac.get()));
  if (!ctx) throw std::runtime_error("OpenSSL: out of memory");
  char digest_name[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
      OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(ctx.get(), bytes_of(key), key.size(), params) != 1) {
    throw std::runtime_error("OpenSSL: HMAC-SHA256 key setup failed");
  }
  return ctx;
}

Sha256Digest finish_mac(EVP_MAC_CTX* ctx, std::string_view data) {
  Sha256Digest out{};
  std::size_t out_len = 0;
  if (EVP_MAC_update(ctx, bytes_of(data), data.size()) != 1 ||
      EVP_MAC_final(ctx, out.data(), &out_len, out.size()) != 1 || out_len != out.size()) {
    throw std::runtime_error("OpenSSL: HMAC-SHA256 failed");
  }
  return out;
}
}  // namespace

Sha256Digest hmac_sha256(std::string_view key, std::string_view data) {
  return finish_mac(keyed_context(key).get(), data);
}

HmacSha256Key::HmacSha256Key(std::string_view key)
    : keyed_(keyed_context(key).release(),
             [](const EVP_MAC_CTX* keyed) { EVP_MAC_CTX_free(const_cast<EVP_MAC_CTX*>(keyed)); }) {}

Sha256Digest HmacSha256Key::mac(std::string_view data) const {
  MacCtx ctx(EVP_MAC_CTX_dup(keyed_.get()));
  if (!ctx) throw std::runtime_error("OpenSSL: out of memory");
  return finish_mac(ctx.get(), data);
}

std::string to_hex(std::span<const unsigned char> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0x0f]);
  }
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace parley::core
