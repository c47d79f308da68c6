#pragma once
// `certpilot issue`: one certificate, obtained and written, start to finish.
#include <optional>
#include <string>
#include <vector>

#include "agent/settings.hpp"
#include "crypto/certificate.hpp"
#include "crypto/key.hpp"

namespace certpilot::agent {

struct IssueOptions {
  std::vector<std::string> domains;  // as typed; validated and normalized here
  crypto::KeyType key_type = crypto::KeyType::ec_p256;
  std::string out_dir;       // write key/cert/chain/fullchain here (a symlink swapped atomically)
  std::string cert_name;     // or: save into the store under this name (when out_dir is empty)
  std::string state_dir = "/var/lib/certpilot";
  CaSettings ca;
  DnsSettings dns;
};

struct IssueOutcome {
  crypto::CertificateChain chain;
  std::string written_to;  // the folder holding the files
  std::vector<std::string> names;
};

// Validates names and options; errors are invalid_input naming the value and the fix.
util::Result<std::vector<std::string>> normalize_domains(const std::vector<std::string>& domains);

util::Result<IssueOutcome> run_issue(const IssueOptions& options);

}  // namespace certpilot::agent
