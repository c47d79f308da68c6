// Digests, HMAC and randomness: thin wrappers so callers never touch EVP directly.
#include <openssl/core_names.h>
#include <openssl/rand.h>

#include <array>
#include <cstdio>
#include <cstdlib>

#include "crypto/key.hpp"

namespace certpilot::crypto {
namespace {

std::string digest(const EVP_MD* md, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, md, nullptr) != 1) {
    // Only allocation failure can get here; a wrong digest would be silently trusted, so stop.
    std::fprintf(stderr, "certpilot: EVP_Digest failed: %s\n", drain_openssl_errors().c_str());
    std::abort();
  }
  return std::string(reinterpret_cast<const char*>(out.data()), len);
}

const char* hmac_digest_name(HmacAlg alg) {
  switch (alg) {
    case HmacAlg::md5: return "MD5";
    case HmacAlg::sha1: return "SHA1";
    case HmacAlg::sha256: return "SHA256";
    case HmacAlg::sha384: return "SHA384";
    case HmacAlg::sha512: return "SHA512";
  }
  return "SHA256";
}

}  // namespace

std::string sha256(std::string_view data) { return digest(EVP_sha256(), data); }
std::string sha384(std::string_view data) { return digest(EVP_sha384(), data); }

Result<std::string> hmac(HmacAlg alg, std::string_view key, std::string_view data) {
  const char* md_name = hmac_digest_name(alg);
  EvpMacPtr mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  EvpMacCtxPtr ctx(mac ? EVP_MAC_CTX_new(mac.get()) : nullptr);
  if (!ctx) {
    return util::fail(util::Errc::internal, std::string("HMAC-") + md_name + ": " + drain_openssl_errors());
  }
  std::array<OSSL_PARAM, 2> params = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(md_name), 0),
      OSSL_PARAM_construct_end()};
  // EVP_MAC_init treats a null key as "keep the previous key", so an empty key needs a real pointer.
  static const unsigned char kEmpty = 0;
  const auto* key_bytes = key.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(key.data());
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  std::size_t len = 0;
  if (EVP_MAC_init(ctx.get(), key_bytes, key.size(), params.data()) != 1 ||
      EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1 ||
      EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) != 1) {
    // The message names the algorithm only: the key must never reach an error string.
    return util::fail(util::Errc::internal, std::string("HMAC-") + md_name + ": " + drain_openssl_errors());
  }
  return std::string(reinterpret_cast<const char*>(out.data()), len);
}

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (n > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    // Without randomness nonces and serials are predictable: refuse to continue.
    std::fprintf(stderr, "certpilot: RAND_bytes failed: %s\n", drain_openssl_errors().c_str());
    std::abort();
  }
  return out;
}

}  // namespace certpilot::crypto
