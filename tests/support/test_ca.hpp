#pragma once
// Test-only certificate authority: a root, intermediates and leaf certificates made in memory with
// OpenSSL, so unit tests (crypto/, tls/, store/) need no checked-in certificates that expire.
// Every failure throws std::runtime_error: this is test code and a failure is a broken test.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "crypto/key.hpp"
#include "util/clock.hpp"

namespace certpilot::test {

// Defaults: valid from an hour ago for a year (tests that need fixed times pass their own).
struct Validity {
  util::SysTime not_before = std::chrono::system_clock::now() - std::chrono::hours(1);
  util::SysTime not_after = std::chrono::system_clock::now() + std::chrono::hours(24 * 365);
};

class TestCa {
 public:

  // A self-signed root "CN=<common_name>" (basicConstraints CA:TRUE, keyCertSign, SKI).
  static TestCa create(const std::string& common_name, crypto::KeyType key_type = crypto::KeyType::ec_p256,
                       Validity validity = Validity());

  // An intermediate CA signed by this CA.
  TestCa issue_intermediate(const std::string& common_name, crypto::KeyType key_type = crypto::KeyType::ec_p256,
                            Validity validity = Validity()) const;

  // A TLS server certificate for key with every name as a dNSName (the first also as the CN),
  // EKU serverAuth, signed by this CA. Returns the certificate PEM.
  std::string issue_leaf(const crypto::PrivateKey& key, const std::vector<std::string>& names,
                         util::SysTime not_before, util::SysTime not_after) const;
  std::string issue_leaf(const crypto::PrivateKey& key, const std::vector<std::string>& names) const {
    const Validity v;
    return issue_leaf(key, names, v.not_before, v.not_after);
  }

  const std::string& cert_pem() const { return cert_pem_; }
  const crypto::PrivateKey& key() const { return key_; }
  const std::string& common_name() const { return common_name_; }

 private:
  TestCa(std::string common_name, crypto::PrivateKey key, std::string cert_pem)
      : common_name_(std::move(common_name)), key_(std::move(key)), cert_pem_(std::move(cert_pem)) {}
  std::string common_name_;
  crypto::PrivateKey key_;
  std::string cert_pem_;
};

}  // namespace certpilot::test
