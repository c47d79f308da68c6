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

namespace certpilot::agent {

class DnsSetup {
 public:
  static util::Result<std::unique_ptr<DnsSetup>> create(const DnsSettings& settings);
  // A fresh solver per order (it remembers what it presented).
  std::unique_ptr<dns::Dns01Solver> make_solver();
  dns::DnsLookup& lookup() { return *lookup_; }
  dns::Provider& provider() { return *provider_; }
  // RFC 8659 CAA check of every name against the CA, before ordering. Skipped (with one info line
  // saying why) when neither the CA's directory nor the settings name CAA identities.
  util::Result<void> check_caa(const acme::Directory& directory, const std::vector<std::string>& names);

 private:
  DnsSetup() = default;
  DnsSettings settings_;
  dns::ProviderPtr provider_;
  std::unique_ptr<dns::DnsLookup> lookup_;
};

}  // namespace certpilot::agent
