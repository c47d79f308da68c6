#include "tls/local_ca.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "crypto/key.hpp"
#include "tls/detail/pem_util.hpp"
#include "util/dirs.hpp"

namespace certpilot::tls {

using util::Errc;
using util::fail;

namespace {

Result<std::string> read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail(Errc::io, path.string() + ": cannot read: " + std::strerror(errno));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Written to a temporary file with `mode` from the start, then renamed: never briefly readable.
Result<void> write_private(const std::filesystem::path& path, const std::string& text, mode_t mode) {
  const std::string tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) {
    return fail(Errc::io, tmp + ": cannot create: " + std::strerror(errno));
  }
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return fail(Errc::io, path.string() + ": cannot write: " + std::strerror(errno));
  }
  return util::ok();
}

std::string to_pem(X509* cert) {
  crypto::BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

bool add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  crypto::X509ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

// Signs a certificate for `subject_key`; self-signed when issuer is null.
Result<crypto::X509Ptr> make_cert(const std::string& cn, EVP_PKEY* subject_key, X509* issuer, EVP_PKEY* issuer_key,
                                  util::SysTime not_before, util::SysTime not_after,
                                  const std::vector<std::pair<int, std::string>>& exts) {
  crypto::X509Ptr cert(X509_new());
  unsigned char serial[16];
  if (!cert || RAND_bytes(serial, sizeof serial) != 1) {
    return fail(Errc::internal, "local CA: " + crypto::drain_openssl_errors());
  }
  serial[0] &= 0x7f;  // positive INTEGER (RFC 5280 §4.1.2.2)
  crypto::BignumPtr bn(BN_bin2bn(serial, sizeof serial, nullptr));
  X509_set_version(cert.get(), 2);
  BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get()));
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("certpilot development"),
                             -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name);
  ASN1_TIME_set(X509_getm_notBefore(cert.get()), std::chrono::system_clock::to_time_t(not_before));
  ASN1_TIME_set(X509_getm_notAfter(cert.get()), std::chrono::system_clock::to_time_t(not_after));
  X509_set_pubkey(cert.get(), subject_key);
  X509* signer = issuer != nullptr ? issuer : cert.get();
  for (const auto& [nid, value] : exts) {
    if (!add_ext(cert.get(), signer, nid, value)) {
      return fail(Errc::invalid_input, "local CA: extension " + value + ": " + crypto::drain_openssl_errors());
    }
  }
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) <= 0) {
    return fail(Errc::internal, "local CA: signing: " + crypto::drain_openssl_errors());
  }
  return cert;
}

}  // namespace

Result<LocalCa> LocalCa::open_or_create(const std::filesystem::path& dir, util::SysTime now, bool* created) {
  const auto cert_path = dir / "ca.pem";
  const auto key_path = dir / "ca-key.pem";
  std::error_code ec;
  *created = false;
  LocalCa ca;
  ca.cert_path_ = cert_path;
  if (std::filesystem::exists(cert_path, ec) || std::filesystem::exists(key_path, ec)) {
    CERTPILOT_TRY(ca.cert_pem_, read_text(cert_path), "local CA");
    CERTPILOT_TRY(std::string key_pem, read_text(key_path), "local CA");
    CERTPILOT_TRY(auto certs, detail::read_certificates(ca.cert_pem_, cert_path.string()), "local CA");
    CERTPILOT_TRY(ca.key_, detail::read_private_key(key_pem, key_path.string()), "local CA");
    ca.cert_ = std::move(certs.front());
    if (X509_check_private_key(ca.cert_.get(), ca.key_.get()) != 1) {
      crypto::drain_openssl_errors();
      return fail(Errc::invalid_input, "local CA: " + key_path.string() + " does not match " + cert_path.string());
    }
    return ca;
  }
  // 0700 whatever the umask: whoever can write here can replace the CA. Existing folders keep their mode.
  if (auto r = util::make_missing_dirs(dir, 0700); !r) {
    return fail(Errc::io, "local CA: " + r.error().message);
  }
  CERTPILOT_TRY(auto key, crypto::PrivateKey::generate(crypto::KeyType::ec_p256), "local CA");
  EVP_PKEY_up_ref(key.get());
  ca.key_.reset(key.get());
  CERTPILOT_TRY(ca.cert_,
                make_cert("certpilot local development CA", ca.key_.get(), nullptr, ca.key_.get(),
                          now - std::chrono::hours(1), now + std::chrono::hours(24 * 365 * 10),
                          {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                           {NID_key_usage, "critical,keyCertSign,cRLSign"},
                           {NID_subject_key_identifier, "hash"}}),
                "local CA");
  ca.cert_pem_ = to_pem(ca.cert_.get());
  if (auto r = write_private(key_path, key.to_pem(), 0600); !r) {
    return fail(r.error().wrapped("local CA"));
  }
  if (auto r = write_private(cert_path, ca.cert_pem_, 0644); !r) {
    return fail(r.error().wrapped("local CA"));
  }
  *created = true;
  return ca;
}

Result<CertMaterial> LocalCa::issue(const std::vector<std::string>& names, util::SysTime now,
                                    std::chrono::hours lifetime) const {
  if (names.empty()) {
    return fail(Errc::invalid_input, "local CA: no name to issue for");
  }
  std::string san;
  for (const auto& n : names) {
    unsigned char buf[16];
    const bool ip = inet_pton(AF_INET, n.c_str(), buf) == 1 || inet_pton(AF_INET6, n.c_str(), buf) == 1;
    if (n.empty() || (n.find_first_of(",: \t") != std::string::npos && !ip)) {
      return fail(Errc::invalid_input, "local CA: not a DNS name or IP address: \"" + n + "\"");
    }
    san += (san.empty() ? "" : ",") + std::string(ip ? "IP:" : "DNS:") + n;
  }
  CERTPILOT_TRY(auto key, crypto::PrivateKey::generate(crypto::KeyType::ec_p256), "local CA");
  CERTPILOT_TRY(auto cert,
                make_cert(names.front(), key.get(), cert_.get(), key_.get(), now - std::chrono::hours(1), now + lifetime,
                          {{NID_basic_constraints, "critical,CA:FALSE"},
                           {NID_key_usage, "critical,digitalSignature"},
                           {NID_ext_key_usage, "serverAuth,clientAuth"},
                           {NID_subject_alt_name, san},
                           {NID_authority_key_identifier, "keyid:always"}}),
                "local CA");
  CertMaterial m;
  m.key_pem = key.to_pem();
  m.chain_pem = to_pem(cert.get()) + cert_pem_;
  m.key_source = "local CA leaf key";
  m.chain_source = "local CA leaf for " + names.front();
  return m;
}

}  // namespace certpilot::tls
