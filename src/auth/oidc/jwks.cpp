#include "auth/oidc/jwks.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "auth/oidc/oidc_error.hpp"
#include "core/base64.hpp"

namespace parley::auth::oidc {

namespace json = boost::json;

void EvpPkeyDeleter::operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }

namespace {

struct BignumDeleter {
  void operator()(BIGNUM* n) const noexcept { BN_free(n); }
};
struct ParamBuildDeleter {
  void operator()(OSSL_PARAM_BLD* b) const noexcept { OSSL_PARAM_BLD_free(b); }
};
struct ParamDeleter {
  void operator()(OSSL_PARAM* p) const noexcept { OSSL_PARAM_free(p); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* c) const noexcept { EVP_PKEY_CTX_free(c); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};

// RSA below 2048 bits is breakable; above 8192 only costs us CPU per verification (a cheap
// denial of service if the key source were ever hostile).
constexpr int kMinRsaBits = 2048;
constexpr int kMaxRsaBits = 8192;

const unsigned char* bytes_of(std::string_view text) {
  return reinterpret_cast<const unsigned char*>(text.data());
}

std::unique_ptr<BIGNUM, BignumDeleter> to_bignum(std::string_view big_endian) {
  return std::unique_ptr<BIGNUM, BignumDeleter>(
      BN_bin2bn(bytes_of(big_endian), static_cast<int>(big_endian.size()), nullptr));
}

const json::string* string_member(const json::object& object, std::string_view name) {
  const auto* value = object.if_contains(name);
  return value != nullptr ? value->if_string() : nullptr;
}

}  // namespace

EvpPkeyPtr rsa_public_key_from_components(std::string_view modulus, std::string_view exponent) {
  if (modulus.empty() || exponent.empty() || modulus.size() > kMaxRsaBits / 8 + 1 ||
      exponent.size() > 8) {
    return nullptr;
  }
  const auto n = to_bignum(modulus);
  const auto e = to_bignum(exponent);
  if (!n || !e) return nullptr;
  std::unique_ptr<OSSL_PARAM_BLD, ParamBuildDeleter> builder(OSSL_PARAM_BLD_new());
  if (!builder || OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
    return nullptr;
  }
  std::unique_ptr<OSSL_PARAM, ParamDeleter> params(OSSL_PARAM_BLD_to_param(builder.get()));
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter> context(
      EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  if (!params || !context || EVP_PKEY_fromdata_init(context.get()) != 1) return nullptr;
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata(context.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return nullptr;
  }
  EvpPkeyPtr key(raw);
  const int bits = EVP_PKEY_get_bits(key.get());
  if (bits < kMinRsaBits || bits > kMaxRsaBits) return nullptr;
  return key;
}

bool verify_rs256(const EVP_PKEY& key, std::string_view signing_input,
                  std::string_view signature) noexcept {
  // RS256 signatures are exactly as long as the modulus; anything else is forged or garbage.
  if (signature.empty() || static_cast<int>(signature.size()) != EVP_PKEY_get_size(&key)) {
    return false;
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> context(EVP_MD_CTX_new());
  if (!context) return false;
  // EVP_DigestVerifyInit_ex takes a non-const key but only takes a reference on it.
  if (EVP_DigestVerifyInit_ex(context.get(), nullptr, "SHA256", nullptr, nullptr,
                              const_cast<EVP_PKEY*>(&key), nullptr) != 1) {
    return false;
  }
  return EVP_DigestVerify(context.get(), bytes_of(signature), signature.size(),
                          bytes_of(signing_input), signing_input.size()) == 1;
}

Result<JsonWebKeySet> JsonWebKeySet::parse(std::string_view text) {
  boost::system::error_code ec;
  const json::value document = json::parse(text, ec);
  if (ec || !document.is_object()) {
    return oidc_error(OidcFailure::provider_misconfigured, "JWKS is not a JSON object");
  }
  const auto* keys = document.get_object().if_contains("keys");
  if (keys == nullptr || !keys->is_array()) {
    return oidc_error(OidcFailure::provider_misconfigured, "JWKS has no keys array");
  }
  JsonWebKeySet set;
  for (const auto& entry : keys->get_array()) {
    const auto* jwk = entry.if_object();
    if (jwk == nullptr) continue;
    const auto* kty = string_member(*jwk, "kty");
    const auto* kid = string_member(*jwk, "kid");
    const auto* use = string_member(*jwk, "use");
    const auto* alg = string_member(*jwk, "alg");
    const auto* n = string_member(*jwk, "n");
    const auto* e = string_member(*jwk, "e");
    if (kty == nullptr || *kty != "RSA" || kid == nullptr || n == nullptr || e == nullptr) {
      continue;
    }
    if ((use != nullptr && *use != "sig") || (alg != nullptr && *alg != "RS256")) continue;
    const auto modulus = core::base64url_decode(*n);
    const auto exponent = core::base64url_decode(*e);
    if (!modulus || !exponent) continue;
    auto key = rsa_public_key_from_components(*modulus, *exponent);
    if (!key) continue;
    set.keys_.insert_or_assign(std::string(*kid), std::move(key));
  }
  if (set.keys_.empty()) {
    return oidc_error(OidcFailure::provider_misconfigured, "JWKS has no usable RS256 key");
  }
  return set;
}

const EVP_PKEY* JsonWebKeySet::find(std::string_view kid) const {
  const auto it = keys_.find(kid);
  return it != keys_.end() ? it->second.get() : nullptr;
}

const EVP_PKEY* JsonWebKeySet::sole_key() const {
  return keys_.size() == 1 ? keys_.begin()->second.get() : nullptr;
}

}  // namespace parley::auth::oidc
