#include "crypto/key.hpp"

#include <openssl/core_names.h>
#include <openssl/pem.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "crypto/detail/pem.hpp"
#include "crypto/detail/signature.hpp"

namespace certpilot::crypto {
namespace {

using util::Errc;
using util::fail;

constexpr std::string_view kAcceptedNames = "ec256, p256, ecdsa-p256, ec-p256, ec384, p384, rsa2048, rsa3072, rsa4096";

std::shared_ptr<EVP_PKEY> share(EvpPkeyPtr key) {
  return {key.release(), EVP_PKEY_free};
}

// Never prompt on a terminal for a passphrase: an encrypted key is an error, reported by the caller.
int no_passphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) { return -1; }

std::string bio_to_string(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  return len > 0 ? std::string(data, static_cast<std::size_t>(len)) : std::string();
}

// Maps a parsed key onto the types ACME clients use; anything else is refused by name so the user
// knows what the file really holds.
Result<KeyType> classify(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "EC") == 1) {
    std::array<char, 64> group{};
    std::size_t len = 0;
    if (EVP_PKEY_get_group_name(key, group.data(), group.size(), &len) != 1) {
      return fail(Errc::invalid_input, "EC key without a named curve: " + drain_openssl_errors());
    }
    const std::string_view name(group.data(), len);
    if (name == "prime256v1" || name == "P-256" || name == "secp256r1") {
      return KeyType::ec_p256;
    }
    if (name == "secp384r1" || name == "P-384") {
      return KeyType::ec_p384;
    }
    return fail(Errc::invalid_input, "unsupported EC curve " + std::string(name) + "; expected P-256 or P-384");
  }
  if (EVP_PKEY_is_a(key, "RSA") == 1) {
    switch (EVP_PKEY_get_bits(key)) {
      case 2048: return KeyType::rsa2048;
      case 3072: return KeyType::rsa3072;
      case 4096: return KeyType::rsa4096;
      default:
        return fail(Errc::invalid_input, "unsupported RSA key size " + std::to_string(EVP_PKEY_get_bits(key)) +
                                             " bits; expected 2048, 3072 or 4096");
    }
  }
  const char* type = EVP_PKEY_get0_type_name(key);
  return fail(Errc::invalid_input, std::string("unsupported key type ") + (type != nullptr ? type : "unknown") +
                                       "; expected EC P-256, EC P-384 or RSA 2048/3072/4096");
}

bool is_key_label(std::string_view label) {
  return label == "PRIVATE KEY" || label == "EC PRIVATE KEY" || label == "RSA PRIVATE KEY";
}

}  // namespace

Result<KeyType> parse_key_type(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "ec256" || lower == "p256" || lower == "ecdsa-p256" || lower == "ec-p256") {
    return KeyType::ec_p256;
  }
  if (lower == "ec384" || lower == "p384" || lower == "ecdsa-p384" || lower == "ec-p384") {
    return KeyType::ec_p384;
  }
  if (lower == "rsa2048") {
    return KeyType::rsa2048;
  }
  if (lower == "rsa3072") {
    return KeyType::rsa3072;
  }
  if (lower == "rsa4096") {
    return KeyType::rsa4096;
  }
  return fail(Errc::invalid_input,
              "unknown key type \"" + std::string(name) + "\"; accepted: " + std::string(kAcceptedNames));
}

std::string_view to_string(KeyType type) {
  switch (type) {
    case KeyType::ec_p256: return "ec256";
    case KeyType::ec_p384: return "ec384";
    case KeyType::rsa2048: return "rsa2048";
    case KeyType::rsa3072: return "rsa3072";
    case KeyType::rsa4096: return "rsa4096";
  }
  return "unknown";
}

Result<PrivateKey> PrivateKey::generate(KeyType type) {
  EvpPkeyPtr key;
  switch (type) {
    case KeyType::ec_p256: key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")); break;
    case KeyType::ec_p384: key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384")); break;
    // OpenSSL's RSA default public exponent is 65537 (RSA_F4), the only one CAs expect.
    case KeyType::rsa2048: key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048})); break;
    case KeyType::rsa3072: key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{3072})); break;
    case KeyType::rsa4096: key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{4096})); break;
  }
  if (!key) {
    return fail(Errc::internal,
                "generating " + std::string(to_string(type)) + " key: " + drain_openssl_errors());
  }
  return PrivateKey(share(std::move(key)), type);
}

Result<PrivateKey> PrivateKey::from_pem(std::string_view pem) {
  const auto blocks = detail::scan_pem(pem);
  // The first key block wins, so files holding a certificate and its key (haproxy style) or the
  // "EC PARAMETERS" block `openssl ecparam -genkey` writes first still load; with no key block at
  // all the error names the first block seen.
  const detail::PemBlock* found = nullptr;
  for (const auto& block : blocks) {
    if (is_key_label(block.label) || block.label == "ENCRYPTED PRIVATE KEY") {
      found = &block;
      break;
    }
  }
  if (found == nullptr && !blocks.empty()) {
    found = &blocks.front();
  }
  if (found == nullptr) {
    return fail(Errc::invalid_input, "private key: no PEM block found, expected PRIVATE KEY");
  }
  if (found->label == "ENCRYPTED PRIVATE KEY" ||
      (is_key_label(found->label) && found->body.find("Proc-Type: 4,ENCRYPTED") != std::string_view::npos)) {
    return fail(Errc::invalid_input,
                "private key: the key is encrypted (" + found->label +
                    "); store it unencrypted with restrictive permissions, e.g. `openssl pkey -in in.pem -out key.pem`");
  }
  if (!found->complete && (found->label.empty() || is_key_label(found->label))) {
    return fail(Errc::invalid_input, "private key: truncated " + (found->label.empty() ? "PEM" : found->label) +
                                         " block (no END line)");
  }
  if (!is_key_label(found->label)) {
    return fail(Errc::invalid_input, "private key: found a " + found->label + " block, expected PRIVATE KEY");
  }
  BioPtr bio(BIO_new_mem_buf(found->text.data(), static_cast<int>(found->text.size())));
  if (!bio) {
    return fail(Errc::internal, "private key: out of memory");
  }
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, &no_passphrase, nullptr));
  if (!key) {
    return fail(Errc::invalid_input,
                "private key: cannot decode " + found->label + " block: " + drain_openssl_errors());
  }
  auto type = classify(key.get());
  if (!type) {
    return fail(type.error().wrapped("private key"));
  }
  return PrivateKey(share(std::move(key)), *type);
}

Result<PrivateKey> PrivateKey::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    return fail(err == ENOENT ? Errc::not_found : Errc::io,
                "reading private key " + path + ": " + std::strerror(err));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    return fail(Errc::io, "reading private key " + path + ": read error");
  }
  auto key = from_pem(ss.str());
  if (!key) {
    return fail(key.error().wrapped(path));
  }
  return key;
}

std::string PrivateKey::to_pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  // PEM_write_bio_PrivateKey writes unencrypted PKCS#8 ("PRIVATE KEY") in OpenSSL 3.
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    drain_openssl_errors();
    return {};
  }
  return bio_to_string(bio.get());
}

std::string PrivateKey::public_pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key_.get()) != 1) {
    drain_openssl_errors();
    return {};
  }
  return bio_to_string(bio.get());
}

std::string PrivateKey::public_der() const {
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(key_.get(), &der);
  if (len <= 0) {
    drain_openssl_errors();
    return {};
  }
  OsslStringPtr owner(reinterpret_cast<char*>(der));
  return std::string(owner.get(), static_cast<std::size_t>(len));
}

std::string PrivateKey::jws_alg() const {
  switch (type_) {
    case KeyType::ec_p256: return "ES256";
    case KeyType::ec_p384: return "ES384";
    default: return "RS256";
  }
}

Result<std::string> PrivateKey::sign(std::string_view data) const {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  std::size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(data.data());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, detail::digest_for(type_), nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, in, data.size()) != 1) {
    return fail(Errc::internal, "signing with " + jws_alg() + ": " + drain_openssl_errors());
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in, data.size()) != 1) {
    return fail(Errc::internal, "signing with " + jws_alg() + ": " + drain_openssl_errors());
  }
  sig.resize(len);
  const std::size_t coord = detail::ec_coordinate_size(type_);
  if (coord == 0) {
    return sig;  // RS256: the PKCS#1 v1.5 signature is used as is
  }
  // RFC 7518 §3.4: JWS carries ECDSA as fixed-size R || S, not the DER OpenSSL produces.
  auto raw = detail::ecdsa_der_to_raw(sig, coord);
  if (!raw) {
    drain_openssl_errors();
    return fail(Errc::internal, "signing with " + jws_alg() + ": cannot convert the DER signature to R||S");
  }
  return *raw;
}

}  // namespace certpilot::crypto
