#include "support/test_ca.hpp"

#include <openssl/pem.h>
#include <openssl/rand.h>

#include <stdexcept>

#include "crypto/ossl.hpp"

namespace certpilot::test {
namespace {

using crypto::X509Ptr;

[[noreturn]] void die(const std::string& what) {
  throw std::runtime_error("TestCa: " + what + ": " + crypto::drain_openssl_errors());
}

crypto::PrivateKey make_key(crypto::KeyType type) {
  auto key = crypto::PrivateKey::generate(type);
  if (!key) {
    throw std::runtime_error("TestCa: " + key.error().message);
  }
  return *key;
}

X509Ptr parse(const std::string& pem) {
  crypto::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    die("parsing issuer certificate");
  }
  return cert;
}

std::string to_pem(X509* cert) {
  crypto::BioPtr bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_X509(bio.get(), cert) != 1) {
    die("writing certificate");
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

void add_ext(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  crypto::X509ExtPtr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    die("adding extension " + value);
  }
}

// issuer == nullptr: self-signed. Random positive 16-byte serial as CAs use (CA/B BR §7.1).
std::string make_cert(const std::string& cn, const crypto::PrivateKey& subject_key, X509* issuer,
                      const crypto::PrivateKey& issuer_key, util::SysTime not_before, util::SysTime not_after,
                      bool ca, const std::vector<std::string>& names) {
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1) {
    die("X509_new");
  }
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  serial[0] |= 0x10;  // fixed length, positive
  crypto::BignumPtr bn(BN_bin2bn(serial, sizeof serial, nullptr));
  BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get()));
  ASN1_TIME_set(X509_getm_notBefore(cert.get()), std::chrono::system_clock::to_time_t(not_before));
  ASN1_TIME_set(X509_getm_notAfter(cert.get()), std::chrono::system_clock::to_time_t(not_after));
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.data()), static_cast<int>(cn.size()), -1, 0);
  X509_set_issuer_name(cert.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name);
  if (X509_set_pubkey(cert.get(), subject_key.get()) != 1) {
    die("X509_set_pubkey");
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer != nullptr ? issuer : cert.get(), cert.get(), nullptr, nullptr, 0);
  if (ca) {
    add_ext(cert.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(cert.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
  } else {
    add_ext(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature,keyEncipherment");
    add_ext(cert.get(), &ctx, NID_ext_key_usage, "serverAuth");
    std::string san;
    for (const auto& n : names) {
      san += (san.empty() ? "DNS:" : ",DNS:") + n;
    }
    if (!san.empty()) {
      add_ext(cert.get(), &ctx, NID_subject_alt_name, san);
    }
  }
  add_ext(cert.get(), &ctx, NID_subject_key_identifier, "hash");
  if (issuer != nullptr) {
    add_ext(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always");
  }
  if (X509_sign(cert.get(), issuer_key.get(), EVP_sha256()) <= 0) {
    die("X509_sign");
  }
  return to_pem(cert.get());
}

}  // namespace

TestCa TestCa::create(const std::string& common_name, crypto::KeyType key_type, Validity validity) {
  auto key = make_key(key_type);
  auto pem = make_cert(common_name, key, nullptr, key, validity.not_before, validity.not_after, true, {});
  return TestCa(common_name, std::move(key), std::move(pem));
}

TestCa TestCa::issue_intermediate(const std::string& common_name, crypto::KeyType key_type,
                                  Validity validity) const {
  auto key = make_key(key_type);
  const X509Ptr issuer = parse(cert_pem_);
  auto pem = make_cert(common_name, key, issuer.get(), key_, validity.not_before, validity.not_after, true, {});
  return TestCa(common_name, std::move(key), std::move(pem));
}

std::string TestCa::issue_leaf(const crypto::PrivateKey& key, const std::vector<std::string>& names,
                               util::SysTime not_before, util::SysTime not_after) const {
  const X509Ptr issuer = parse(cert_pem_);
  const std::string cn = names.empty() ? "leaf" : names.front();
  return make_cert(cn, key, issuer.get(), key_, not_before, not_after, false, names);
}

}  // namespace certpilot::test
