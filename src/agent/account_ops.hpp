#pragma once
// Account and revocation operations behind `certpilot account ...` and `certpilot revoke`.
#include <optional>
#include <string>

#include "acme/types.hpp"
#include "agent/settings.hpp"

namespace certpilot::agent {

struct AccountReport {
  std::string url;
  std::string status;
  std::vector<std::string> contact;
  std::string key_thumbprint;  // RFC 7638; identifies the key without revealing it
  std::string stored_in;
  std::string note;  // what the operator should know next (after a deactivation); may be empty
};

util::Result<AccountReport> show_account(const CaSettings& ca, const std::string& state_dir);
// New key registered with the CA (RFC 8555 §7.3.5), then saved in place of the old one.
util::Result<AccountReport> rollover_account_key(const CaSettings& ca, const std::string& state_dir);
// Marks the stored account deactivated (kDeactivatedMarker), so later runs refuse it with a hint
// instead of sending requests the CA can only refuse.
util::Result<AccountReport> deactivate_account(const CaSettings& ca, const std::string& state_dir);

struct RevokeOptions {
  std::string cert_file;
  std::string key_file;  // sign with the certificate's key instead of the account
  std::optional<int> reason;
  std::string state_dir;
  CaSettings ca;
};

// Returns the revoked certificate's serial.
util::Result<std::string> revoke(const RevokeOptions& options);

}  // namespace certpilot::agent
