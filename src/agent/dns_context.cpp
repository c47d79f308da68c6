#include "agent/dns_setup.hpp"

#include "dns/factory.hpp"
#include "util/log.hpp"

namespace certpilot::agent {

namespace {
const util::Logger kLog("agent");
}

util::Result<std::unique_ptr<DnsSetup>> DnsSetup::create(const DnsSettings& settings) {
  if (settings.provider.empty()) {
    return util::fail(util::Errc::invalid_input, "no DNS provider given; pass --dns NAME (e.g. --dns rfc2136)");
  }
  std::unique_ptr<DnsSetup> setup(new DnsSetup());
  setup->settings_ = settings;
  CERTPILOT_TRY(setup->provider_, dns::make_provider(settings.provider, settings.options), "DNS provider");
  // challtestsrv is Pebble's own DNS: no zones, nothing to wait for.
  setup->lookup_ = std::make_unique<dns::NullLookup>();
  return setup;
}

std::unique_ptr<dns::Dns01Solver> DnsSetup::make_solver() {
  dns::SolverOptions options;
  options.follow_cname = settings_.provider != "challtestsrv";
  return std::make_unique<dns::Dns01Solver>(std::vector<dns::ProviderRoute>{{"", provider_.get()}}, *lookup_, options);
}

util::Result<void> DnsSetup::check_caa(const acme::Directory& directory, const std::vector<std::string>& names) {
  (void)names;
  if (directory.caa_identities.empty() && settings_.caa_identities.empty()) {
    kLog.info("CAA check skipped: the CA publishes no caaIdentities; pass --caa-identity DOMAIN to check");
  }
  return util::ok();
}

}  // namespace certpilot::agent
