#pragma once
// A local development CA, like mkcert: created once under a state folder (key 0600 in a 0700
// folder), then issuing short-lived leaf certificates for local names. Never for production: the
// CA key sits unencrypted on disk, and trusting ca.pem trusts anything it signs.
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "crypto/ossl.hpp"
#include "tls/cert_set.hpp"
#include "util/clock.hpp"
#include "util/result.hpp"

namespace certpilot::tls {

class LocalCa {
 public:
  // Loads <dir>/ca.pem and <dir>/ca-key.pem, or creates both when neither exists. `created` tells
  // which happened. Errors name the file.
  static Result<LocalCa> open_or_create(const std::filesystem::path& dir, util::SysTime now, bool* created);

  // A leaf for names (DNS names, or IP addresses as iPAddress entries), ECDSA P-256, valid from an
  // hour before `now` for `lifetime`; chain_pem holds the leaf and then the CA certificate.
  Result<CertMaterial> issue(const std::vector<std::string>& names, util::SysTime now,
                             std::chrono::hours lifetime = std::chrono::hours(24 * 30)) const;

  const std::string& cert_pem() const { return cert_pem_; }
  const std::filesystem::path& cert_path() const { return cert_path_; }

 private:
  LocalCa() = default;
  crypto::X509Ptr cert_;
  crypto::EvpPkeyPtr key_;
  std::string cert_pem_;
  std::filesystem::path cert_path_;
};

}  // namespace certpilot::tls
