#include "agent/config_settings.hpp"

#include <algorithm>

namespace certpilot::agent {

CaSettings ca_settings_of(const CaConfig& ca) {
  CaSettings s;
  s.directory_url = resolve_directory_alias(ca.directory);
  s.ca_bundle = ca.ca_bundle;
  if (!ca.email.empty()) s.emails.push_back(ca.email);
  s.agree_tos = ca.agree_tos;
  if (!ca.eab_kid.empty()) s.eab = EabSettings{ca.eab_kid, ca.eab_hmac_key_file, "HS256"};
  if (!ca.preferred_chain.empty()) s.preferred_chain = ca.preferred_chain;
  if (!ca.profile.empty()) s.profile = ca.profile;
  return s;
}

DnsSettings dns_settings_of(const DnsSetup& setup) {
  DnsSettings s;
  s.provider = setup.provider;
  // The config may spell option keys the TOML way (tsig_key_name) or as --dns-opt does (tsig-key-name).
  for (const auto& [key, value] : setup.options) {
    std::string k = key;
    std::replace(k.begin(), k.end(), '_', '-');
    s.options[k] = value;
  }
  s.resolvers = setup.resolvers;
  s.propagation = std::string(to_string(setup.propagation));
  s.propagation_timeout = setup.propagation_timeout;
  s.caa_identities = setup.caa_identities;
  return s;
}

}  // namespace certpilot::agent
