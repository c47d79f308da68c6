#pragma once
// Flags shared by the commands that talk to a CA (issue, revoke, account) and to a DNS (issue,
// dns-check). Raw strings here; to_settings() validates and reports what to fix.
#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "agent/settings.hpp"
#include "util/result.hpp"

namespace certpilot::cli {

struct CaFlags {
  std::string directory;
  bool staging = false;
  std::string ca_bundle;
  std::vector<std::string> emails;
  bool agree_tos = false;
  std::string eab_kid;
  std::string eab_hmac_key_file;
  std::string preferred_chain;
  std::string profile;
  std::string state_dir = "/var/lib/certpilot";
};

struct DnsFlags {
  std::string provider;
  std::vector<std::string> options;  // KEY=VALUE
  std::vector<std::string> resolvers;
  std::string propagation = "authoritative";
  std::string propagation_timeout = "120";
  std::vector<std::string> caa_identities;
  std::string propagation_interval = "1";
  std::string propagation_delay = "30";
  std::string propagation_settle = "0";
  unsigned nameserver_port = 0;
};

// For --state: an empty value (--state "", or an unset variable in a script) would reach the store
// as no folder at all.
inline const CLI::Validator kNonEmptyFolder(
    [](std::string& value) {
      return value.empty() ? std::string("is empty; give a folder, e.g. /var/lib/certpilot") : std::string();
    },
    "FOLDER");

void add_ca_flags(CLI::App& cmd, CaFlags& flags, bool for_issuance);
void add_dns_flags(CLI::App& cmd, DnsFlags& flags);
util::Result<agent::CaSettings> to_settings(const CaFlags& flags);
util::Result<agent::DnsSettings> to_settings(const DnsFlags& flags);

}  // namespace certpilot::cli
