#include "test_tokens.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <boost/json/serialize.hpp>
#include <stdexcept>
#include <vector>

#include "core/base64.hpp"

namespace parley::testing {

namespace {
std::string component(EVP_PKEY* key, const char* name) {
  BIGNUM* number = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &number) != 1) throw std::runtime_error("get_bn_param");
  std::string bytes(static_cast<std::size_t>(BN_num_bytes(number)), '\0');
  BN_bn2bin(number, reinterpret_cast<unsigned char*>(bytes.data()));
  BN_free(number);
  return core::base64url_encode(bytes);
}

std::string encode_part(const boost::json::object& object) {
  return core::base64url_encode(boost::json::serialize(object));
}
}  // namespace

TestRsaKey::TestRsaKey(std::string kid) : kid_(std::move(kid)) {
  key_ = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048});
  if (key_ == nullptr) throw std::runtime_error("RSA keygen failed");
}

TestRsaKey::~TestRsaKey() { EVP_PKEY_free(key_); }

boost::json::object TestRsaKey::jwk() const {
  return {{"kty", "RSA"},
          {"kid", kid_},
          {"use", "sig"},
          {"alg", "RS256"},
          {"n", component(key_, OSSL_PKEY_PARAM_RSA_N)},
          {"e", component(key_, OSSL_PKEY_PARAM_RSA_E)}};
}

std::string TestRsaKey::public_pem() const {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  PEM_write_bio_PUBKEY(bio.get(), key_);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

std::string TestRsaKey::sign(const std::string& input) const {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(),
                                                                  &EVP_MD_CTX_free);
  std::size_t size = 0;
  if (EVP_DigestSignInit_ex(context.get(), nullptr, "SHA256", nullptr, nullptr, key_, nullptr) !=
          1 ||
      EVP_DigestSign(context.get(), nullptr, &size,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    throw std::runtime_error("sign init failed");
  }
  std::string signature(size, '\0');
  if (EVP_DigestSign(context.get(), reinterpret_cast<unsigned char*>(signature.data()), &size,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    throw std::runtime_error("sign failed");
  }
  signature.resize(size);
  return signature;
}

std::string sign_rs256(const boost::json::object& header, const boost::json::object& claims,
                       const TestRsaKey& key) {
  const std::string input = encode_part(header) + "." + encode_part(claims);
  return input + "." + core::base64url_encode(key.sign(input));
}

std::string sign_hs256(const boost::json::object& header, const boost::json::object& claims,
                       const std::string& secret) {
  const std::string input = encode_part(header) + "." + encode_part(claims);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &size);
  return input + "." +
         core::base64url_encode(std::string_view(reinterpret_cast<const char*>(mac), size));
}

std::string unsigned_token(const boost::json::object& header, const boost::json::object& claims) {
  return encode_part(header) + "." + encode_part(claims) + ".";
}

}  // namespace parley::testing
