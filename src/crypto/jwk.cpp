// Public JWKs (RFC 7518 §6) and their RFC 7638 thumbprints.
#include <openssl/core_names.h>

#include <vector>

#include "crypto/detail/signature.hpp"
#include "crypto/key.hpp"
#include "util/base64url.hpp"

namespace certpilot::crypto {
namespace {

// A BIGNUM parameter of the key as big-endian bytes; pad > 0 left-pads to exactly that length,
// pad == 0 gives the minimal encoding (no leading zero octets).
std::string bn_param(EVP_PKEY* key, const char* name, int pad) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) {
    drain_openssl_errors();
    return {};
  }
  BignumPtr bn(raw);
  const int len = pad > 0 ? pad : BN_num_bytes(bn.get());
  std::string out(static_cast<std::size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  if (pad > 0 ? BN_bn2binpad(bn.get(), p, pad) != pad : BN_bn2bin(bn.get(), p) != len) {
    drain_openssl_errors();
    return {};
  }
  return out;
}

bool all_strings(const nlohmann::json& jwk, const std::vector<const char*>& members) {
  for (const char* m : members) {
    const auto it = jwk.find(m);
    if (it == jwk.end() || !it->is_string()) {
      return false;
    }
  }
  return true;
}

}  // namespace

nlohmann::json PrivateKey::public_jwk() const {
  nlohmann::json jwk = nlohmann::json::object();
  const std::size_t coord = detail::ec_coordinate_size(type_);
  if (coord != 0) {
    // RFC 7518 §6.2.1.2/3: x and y are the full curve-size octet strings, leading zeros kept.
    const int pad = static_cast<int>(coord);
    jwk["crv"] = type_ == KeyType::ec_p256 ? "P-256" : "P-384";
    jwk["kty"] = "EC";
    jwk["x"] = util::base64url_encode(bn_param(key_.get(), OSSL_PKEY_PARAM_EC_PUB_X, pad));
    jwk["y"] = util::base64url_encode(bn_param(key_.get(), OSSL_PKEY_PARAM_EC_PUB_Y, pad));
  } else {
    // RFC 7518 §6.3.1: n and e are Base64urlUInt, the minimal big-endian encoding.
    jwk["e"] = util::base64url_encode(bn_param(key_.get(), OSSL_PKEY_PARAM_RSA_E, 0));
    jwk["kty"] = "RSA";
    jwk["n"] = util::base64url_encode(bn_param(key_.get(), OSSL_PKEY_PARAM_RSA_N, 0));
  }
  return jwk;
}

std::string jwk_thumbprint(const nlohmann::json& jwk) {
  if (!jwk.is_object() || !all_strings(jwk, {"kty"})) {
    return {};
  }
  const std::string kty = jwk["kty"].get<std::string>();
  // RFC 7638 §3.2: only the required members of the key type take part.
  std::vector<const char*> required;
  if (kty == "EC") {
    required = {"crv", "kty", "x", "y"};
  } else if (kty == "RSA") {
    required = {"e", "kty", "n"};
  } else if (kty == "oct") {
    required = {"k", "kty"};
  } else if (kty == "OKP") {
    required = {"crv", "kty", "x"};
  } else {
    return {};
  }
  if (!all_strings(jwk, required)) {
    return {};
  }
  nlohmann::json canonical = nlohmann::json::object();
  for (const char* m : required) {
    canonical[m] = jwk[m];
  }
  // RFC 7638 §3: members in lexicographic order (nlohmann's default object is a sorted std::map)
  // and no whitespace (dump() without indent). The values here are base64url and names, so no
  // escaping differences can arise.
  return util::base64url_encode(sha256(canonical.dump()));
}

std::string PrivateKey::jwk_thumbprint() const { return crypto::jwk_thumbprint(public_jwk()); }

}  // namespace certpilot::crypto
