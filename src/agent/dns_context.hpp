#pragma once
// A ready DNS-01 path for one DnsSettings: the provider, the lookups (zones, CNAMEs, propagation,
// CAA) and the solver wired together. Built before anything is ordered, so a bad provider option
// fails before the CA sees a request.
#include <memory>
#include <string>
#include <vector>

#include "acme/directory.hpp"
#include "agent/settings.hpp"
#include "dns/dns01_solver.hpp"
#include "dns/lookup.hpp"
#include "dns/provider.hpp"
#include "dns/resolver_lookup.hpp"

namespace certpilot::agent {

// One resolver as --dns-resolver or `resolvers = [...]` gives it (IP, IP:PORT, [IPV6]:PORT), checked
// (port 1-65535, an address, not a name) and normalized to "ip:port". The error says what is wrong
// without a prefix, e.g. "bad port 99999 (1-65535)": the caller names the flag or key.
util::Result<std::string> normalize_dns_resolver(const std::string& text);

class DnsContext {
 public:
  static util::Result<std::unique_ptr<DnsContext>> create(const DnsSettings& settings);
  // A fresh solver per order (it remembers what it presented).
  std::unique_ptr<dns::Dns01Solver> make_solver();
  dns::DnsLookup& lookup() { return resolver_lookup_ ? static_cast<dns::DnsLookup&>(*resolver_lookup_) : *null_lookup_; }
  dns::Provider& provider() { return *provider_; }
  // RFC 8659 CAA check of every name against the CA, before ordering: the CA's caaIdentities, or
  // --caa-identity where it publishes none. Skipped (with one line saying why) without either.
  // account_url: the open account's URL, compared with RFC 8657 accounturi parameters. Errors
  // start with "CAA check for <name>": callers add no CAA prefix of their own.
  // With --propagation authoritative the zone of every challenge name (after CNAMEs) must be found
  // to ask its nameservers: checked before ordering, so a resolver that cannot answer SOA queries
  // is reported with the fix, not after an order and its TXT records exist. The solver reuses the
  // answers. Other modes need no zone: nothing is checked.
  util::Result<void> check_zones(const std::vector<std::string>& names);
  util::Result<void> check_caa(const acme::Directory& directory, const std::vector<std::string>& names,
                               const std::string& account_url);

 private:
  DnsContext() = default;
  DnsSettings settings_;
  dns::ProviderPtr provider_;
  std::unique_ptr<dns::ResolverLookup> resolver_lookup_;  // real DNS
  std::unique_ptr<dns::NullLookup> null_lookup_;          // challtestsrv without resolvers
};

}  // namespace certpilot::agent
