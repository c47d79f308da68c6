#pragma once
// Conversions between the DER ECDSA-Sig-Value OpenSSL produces and the fixed-size r||s JWS uses
// (RFC 7518 §3.4), shared by signing (key.cpp) and verification (jws.cpp).
#include <openssl/evp.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/key.hpp"

namespace certpilot::crypto::detail {

// SHA-256 for ES256/RS256, SHA-384 for ES384.
const EVP_MD* digest_for(KeyType type);
// 32 for P-256, 48 for P-384, 0 for RSA.
std::size_t ec_coordinate_size(KeyType type);

std::optional<std::string> ecdsa_der_to_raw(std::string_view der, std::size_t coordinate_size);
std::optional<std::string> ecdsa_raw_to_der(std::string_view raw, std::size_t coordinate_size);

}  // namespace certpilot::crypto::detail
