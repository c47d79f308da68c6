#pragma once
// Helpers for the crypto tests that deliberately bypass certpilot's own code, so results are checked
// by OpenSSL independently.
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <string>
#include <string_view>

#include "crypto/ossl.hpp"

namespace certpilot::crypto_test {

inline std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (const char c : bytes) {
    out.push_back(kDigits[static_cast<unsigned char>(c) >> 4]);
    out.push_back(kDigits[static_cast<unsigned char>(c) & 0x0f]);
  }
  return out;
}

inline std::string bio_string(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(len));
}

// A PEM private key of any type OpenSSL can generate: "ED25519", or "EC" with a curve name.
inline std::string foreign_key_pem(const char* type, const char* curve = nullptr) {
  crypto::EvpPkeyPtr key(curve != nullptr ? EVP_PKEY_Q_keygen(nullptr, nullptr, type, curve)
                                          : EVP_PKEY_Q_keygen(nullptr, nullptr, type));
  crypto::BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  return bio_string(bio.get());
}

inline std::string encrypted_pkcs8_pem(EVP_PKEY* key) {
  crypto::BioPtr bio(BIO_new(BIO_s_mem()));
  char pass[] = "not-a-real-passphrase";
  PEM_write_bio_PKCS8PrivateKey(bio.get(), key, EVP_aes_256_cbc(), pass, static_cast<int>(sizeof pass - 1), nullptr,
                                nullptr);
  return bio_string(bio.get());
}

inline std::string traditional_pem(EVP_PKEY* key) {
  crypto::BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey_traditional(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  return bio_string(bio.get());
}

inline crypto::EvpPkeyPtr public_key_from_pem(const std::string& pem) {
  crypto::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return crypto::EvpPkeyPtr(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
}

// Verifies a JWS signature with plain OpenSSL: the JOSE r||s is rebuilt into DER by hand here.
inline bool openssl_verify(EVP_PKEY* pub, const EVP_MD* md, std::string_view input, std::string sig,
                           std::size_t ec_coord) {
  if (ec_coord != 0) {
    crypto::EcdsaSigPtr es(ECDSA_SIG_new());
    const auto* raw = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG_set0(es.get(), BN_bin2bn(raw, static_cast<int>(ec_coord), nullptr),
                   BN_bin2bn(raw + ec_coord, static_cast<int>(ec_coord), nullptr));
    unsigned char* der = nullptr;
    const int len = i2d_ECDSA_SIG(es.get(), &der);
    sig.assign(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
    OPENSSL_free(der);
  }
  crypto::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  const bool ok = EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, pub) == 1 &&
                  EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                                   reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  ERR_clear_error();
  return ok;
}

}  // namespace certpilot::crypto_test
