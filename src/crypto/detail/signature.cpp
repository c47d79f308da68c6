#include "crypto/detail/signature.hpp"

#include <openssl/ec.h>

namespace certpilot::crypto::detail {

const EVP_MD* digest_for(KeyType type) {
  return type == KeyType::ec_p384 ? EVP_sha384() : EVP_sha256();
}

std::size_t ec_coordinate_size(KeyType type) {
  switch (type) {
    case KeyType::ec_p256: return 32;
    case KeyType::ec_p384: return 48;
    default: return 0;
  }
}

std::optional<std::string> ecdsa_der_to_raw(std::string_view der, std::size_t coordinate_size) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) {
    return std::nullopt;
  }
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string raw(2 * coordinate_size, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  const int n = static_cast<int>(coordinate_size);
  // RFC 7518 §3.4: each integer is left-padded with zeros to the curve's octet length.
  if (BN_bn2binpad(r, out, n) != n || BN_bn2binpad(s, out + coordinate_size, n) != n) {
    return std::nullopt;
  }
  return raw;
}

std::optional<std::string> ecdsa_raw_to_der(std::string_view raw, std::size_t coordinate_size) {
  if (coordinate_size == 0 || raw.size() != 2 * coordinate_size) {
    return std::nullopt;
  }
  const auto* in = reinterpret_cast<const unsigned char*>(raw.data());
  const int n = static_cast<int>(coordinate_size);
  BignumPtr r(BN_bin2bn(in, n, nullptr));
  BignumPtr s(BN_bin2bn(in + coordinate_size, n, nullptr));
  EcdsaSigPtr sig(ECDSA_SIG_new());
  if (!r || !s || !sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) {
    return std::nullopt;
  }
  r.release();  // the signature owns r and s now
  s.release();
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) {
    return std::nullopt;
  }
  OsslStringPtr owner(reinterpret_cast<char*>(der));
  return std::string(owner.get(), static_cast<std::size_t>(len));
}

}  // namespace certpilot::crypto::detail
