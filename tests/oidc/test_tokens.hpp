#pragma once
// Test-side JOSE: RSA keys generated with OpenSSL, their JWKs, and tokens signed with RS256,
// HS256 (for the key-confusion attack) or not at all ("alg":"none").

#include <openssl/types.h>

#include <boost/json/object.hpp>
#include <memory>
#include <string>

namespace parley::testing {

class TestRsaKey {
 public:
  /// A fresh 2048-bit key (takes a moment: share one per test suite).
  explicit TestRsaKey(std::string kid);
  ~TestRsaKey();
  TestRsaKey(const TestRsaKey&) = delete;
  TestRsaKey& operator=(const TestRsaKey&) = delete;

  const std::string& kid() const { return kid_; }
  /// The public half as a JWK object: kty, kid, use, alg, n, e.
  boost::json::object jwk() const;
  /// The public key as PEM text, which naive verifiers use as an HMAC secret for HS256.
  std::string public_pem() const;
  /// RS256 signature of `input`.
  std::string sign(const std::string& input) const;

 private:
  std::string kid_;
  EVP_PKEY* key_ = nullptr;
};

/// header.payload.signature with an RS256 signature by `key`.
std::string sign_rs256(const boost::json::object& header, const boost::json::object& claims,
                       const TestRsaKey& key);
/// header.payload.signature with HMAC-SHA256 under `secret`.
std::string sign_hs256(const boost::json::object& header, const boost::json::object& claims,
                       const std::string& secret);
/// header.payload. (empty signature) as "alg":"none" tokens are.
std::string unsigned_token(const boost::json::object& header, const boost::json::object& claims);

}  // namespace parley::testing
