#pragma once
// The CA's directory (RFC 8555 §7.1.1), plus RFC 9773's renewalInfo and the profiles extension.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "util/result.hpp"

namespace certpilot::acme {

struct Directory {
  std::string url;
  std::string new_nonce;
  std::string new_account;
  std::string new_order;
  std::string revoke_cert;
  std::string key_change;
  std::optional<std::string> new_authz;
  std::optional<std::string> renewal_info;  // RFC 9773 ARI
  // meta
  std::optional<std::string> terms_of_service;
  std::optional<std::string> website;
  std::vector<std::string> caa_identities;
  bool external_account_required = false;
  std::map<std::string, std::string> profiles;  // name -> description
};

// Fails with invalid_input naming the missing field when the document is not an ACME directory
// (a common mistake: a URL that serves an HTML page or another API).
util::Result<Directory> parse_directory(const std::string& url, const std::string& body);

// Well-known directories, so users can write --directory letsencrypt.
inline constexpr const char* kLetsEncryptProduction = "https://acme-v02.api.letsencrypt.org/directory";
inline constexpr const char* kLetsEncryptStaging = "https://acme-staging-v02.api.letsencrypt.org/directory";

}  // namespace certpilot::acme
