#pragma once
// Private keys: generate, load, save (PKCS#8 PEM), JWK and RFC 7638 thumbprint, JWS signatures.
// A PrivateKey is immutable once made; copies share the same reference-counted EVP_PKEY, and
// signing from several threads at once is safe (OpenSSL 3 keys are read-only while signing).
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "crypto/ossl.hpp"
#include "util/result.hpp"

namespace certpilot::crypto {

using util::Result;

enum class KeyType { ec_p256, ec_p384, rsa2048, rsa3072, rsa4096 };

// Accepts "ec256", "p256", "ecdsa-p256", "ec-p256", "ec384", "p384", "rsa2048", "rsa3072", "rsa4096"
// (case-insensitive); the error lists the accepted names.
Result<KeyType> parse_key_type(std::string_view name);
std::string_view to_string(KeyType type);  // "ec256", "ec384", "rsa2048", ...

class PrivateKey {
 public:
  static Result<PrivateKey> generate(KeyType type);
  // PKCS#8 or traditional ("EC PRIVATE KEY", "RSA PRIVATE KEY") PEM; only the key types above.
  static Result<PrivateKey> from_pem(std::string_view pem);
  // Reads a file; the error names the file.
  static Result<PrivateKey> load(const std::string& path);

  std::string to_pem() const;  // unencrypted PKCS#8 PEM ("PRIVATE KEY")
  std::string public_pem() const;
  KeyType type() const { return type_; }
  EVP_PKEY* get() const { return key_.get(); }

  // Public JWK with only the required members (RFC 7518 §6.2.1 / §6.3.1), e.g.
  // {"crv":"P-256","kty":"EC","x":...,"y":...}; coordinates left-padded to the curve size.
  nlohmann::json public_jwk() const;
  // RFC 7638: base64url(SHA-256(JWK members in lexicographic order, no whitespace)).
  std::string jwk_thumbprint() const;
  std::string jws_alg() const;  // "ES256", "ES384" or "RS256"

  // The JWS signature over data (RFC 7518 §3.4: for ECDSA the fixed-size r||s, not DER).
  Result<std::string> sign(std::string_view data) const;
  // DER SubjectPublicKeyInfo, for comparing keys.
  std::string public_der() const;

 private:
  PrivateKey(std::shared_ptr<EVP_PKEY> key, KeyType type) : key_(std::move(key)), type_(type) {}
  std::shared_ptr<EVP_PKEY> key_;
  KeyType type_;
};

// RFC 7638 §3 thumbprint of any public JWK: base64url(SHA-256) over only the required members
// (EC: crv, kty, x, y; RSA: e, kty, n; oct: k, kty; OKP: crv, kty, x) in lexicographic order with no
// whitespace. Returns "" when kty is unknown or a required member is missing or not a string.
std::string jwk_thumbprint(const nlohmann::json& jwk);

// SHA-256 / SHA-384 digests (raw bytes).
std::string sha256(std::string_view data);
std::string sha384(std::string_view data);

enum class HmacAlg { sha1, sha256, sha384, sha512, md5 };
// Raw HMAC bytes; used for JWS HS256/384/512 (EAB) and TSIG.
Result<std::string> hmac(HmacAlg alg, std::string_view key, std::string_view data);
// Cryptographically random bytes.
std::string random_bytes(std::size_t n);

}  // namespace certpilot::crypto
