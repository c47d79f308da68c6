#pragma once
// X.509 certificates and chains: parsing (PEM/DER), inspection, key match, verification.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/key.hpp"
#include "util/clock.hpp"

namespace certpilot::crypto {

class Certificate {
 public:
  // Exactly one CERTIFICATE block (other text around it is ignored).
  static Result<Certificate> from_pem(std::string_view pem);
  static Result<Certificate> from_der(std::string_view der);
  // Takes ownership.
  static Certificate adopt(X509Ptr cert);

  std::string to_pem() const;
  std::string to_der() const;
  X509* get() const { return cert_.get(); }

  std::vector<std::string> dns_names() const;  // subjectAltName dNSName entries, as written
  std::string subject() const;                 // RFC 2253, e.g. "CN=example.test"
  std::string issuer() const;
  std::string subject_cn() const;              // "" if none
  std::string issuer_cn() const;
  util::SysTime not_before() const;
  util::SysTime not_after() const;
  std::string serial_hex() const;              // lowercase, no leading zeros stripped beyond DER
  std::string serial_der() const;              // the INTEGER's content bytes (for ARI)
  std::optional<std::string> authority_key_id() const;  // keyIdentifier bytes (for ARI)
  bool is_ca() const;
  bool matches_key(const PrivateKey& key) const;
  std::string public_key_der() const;

 private:
  explicit Certificate(std::shared_ptr<X509> cert) : cert_(std::move(cert)) {}
  std::shared_ptr<X509> cert_;
};

// Every CERTIFICATE block in order. Errors: no block, a truncated or corrupt block, or text that
// looks like a PEM block of another type where a certificate was expected.
Result<std::vector<Certificate>> parse_pem_certificates(std::string_view pem);

// A leaf followed by its intermediates, as an ACME CA serves it (RFC 8555 §7.4.2).
class CertificateChain {
 public:
  static Result<CertificateChain> from_pem(std::string_view pem);
  static Result<CertificateChain> from_certificates(std::vector<Certificate> certs);

  const Certificate& leaf() const { return certs_.front(); }
  const std::vector<Certificate>& certificates() const { return certs_; }
  std::vector<Certificate> intermediates() const { return {certs_.begin() + 1, certs_.end()}; }
  std::string leaf_pem() const;
  std::string intermediates_pem() const;  // may be empty
  std::string full_pem() const;
  // The issuer CN of the last certificate: the root this chain leads to (for --preferred-chain).
  std::string top_issuer_cn() const;

  // Verifies leaf -> intermediates -> one of roots, at time `at`; when hostname is given, the
  // leaf must name it. The error says which certificate failed and why.
  Result<void> verify(const std::vector<Certificate>& roots, util::SysTime at,
                      const std::optional<std::string>& hostname = std::nullopt) const;

  // What keeps this chain from being the one requested for `key` and `names` (compared as
  // normalized DNS names; `names` empty: any), or "" when nothing does. Callers add their own
  // error code and what they did not do, e.g. "; nothing was written".
  std::string mismatch(const PrivateKey& key, const std::vector<std::string>& names) const;

 private:
  explicit CertificateChain(std::vector<Certificate> certs) : certs_(std::move(certs)) {}
  std::vector<Certificate> certs_;
};

}  // namespace certpilot::crypto
