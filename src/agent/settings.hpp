#pragma once
// What the agent needs to talk to a CA and to a DNS: filled from CLI flags (certpilot issue) or
// from the config file (certpilot run); everything below agent/ takes these values as parameters.
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "util/result.hpp"
#include "util/secret.hpp"

namespace certpilot::agent {

struct EabSettings {
  std::string kid;
  std::string hmac_key_file;  // base64url MAC key as the CA gave it; read when needed, never logged
  std::string alg = "HS256";
};

struct CaSettings {
  std::string directory_url;  // resolved: "letsencrypt" / "letsencrypt-staging" expanded
  std::string ca_bundle;      // PEM roots for a private CA (Pebble); empty = system store
  std::vector<std::string> emails;
  bool agree_tos = false;
  std::optional<EabSettings> eab;
  std::optional<std::string> preferred_chain;
  std::optional<std::string> profile;
};

struct DnsSettings {
  std::string provider;                        // "rfc2136", "exec", "challtestsrv", ...
  std::map<std::string, std::string> options;  // provider options (--dns-opt KEY=VALUE)
  std::vector<std::string> resolvers;          // HOST[:PORT] for zone/CNAME/CAA lookups
  std::string propagation = "authoritative";   // authoritative | resolvers | off
  std::chrono::seconds propagation_timeout{120};
  std::vector<std::string> caa_identities;     // used when the CA publishes none (--caa-identity)
  std::chrono::milliseconds propagation_interval{1000};
  std::chrono::seconds propagation_delay{30};  // the fixed wait of --propagation off
  std::chrono::seconds propagation_settle{0};  // extra wait after the check passed
  // Advanced/tests: query authoritative nameservers at this port instead of 53.
  std::optional<unsigned> nameserver_port;
};

// "letsencrypt" -> production URL, "letsencrypt-staging" -> staging; anything else unchanged.
std::string resolve_directory_alias(const std::string& directory);

// A --caa-identity / caa_identity value: the CA's issuer domain name as CAA records write it
// ("letsencrypt.org"), lower-cased, without a trailing dot. No wildcard, no IP address, no
// parameters (";"): the error names the value and says what is expected.
util::Result<std::string> normalize_caa_identity(const std::string& text);

}  // namespace certpilot::agent
