#include "agent/dns_context.hpp"

#include "dns/caa.hpp"
#include "dns/factory.hpp"
#include "dns/propagation.hpp"
#include "dns/server_address.hpp"
#include "agent/secret_reader.hpp"
#include "util/domain_name.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace certpilot::agent {

namespace {
const util::Logger kLog("agent");
}

util::Result<std::string> normalize_dns_resolver(const std::string& text) { return dns::normalize_resolver(text); }

util::Result<std::unique_ptr<DnsContext>> DnsContext::create(const DnsSettings& settings) {
  if (settings.provider.empty()) {
    return util::fail(util::Errc::invalid_input, "no DNS provider given; pass --dns NAME (e.g. --dns rfc2136)");
  }
  std::unique_ptr<DnsContext> ctx(new DnsContext());
  ctx->settings_ = settings;
  // The CLI checked --dns-resolver already; a config file's `resolvers` are checked here (and c-ares
  // would cut a port to 16 bits). One list for the provider and the lookups: a split horizon
  // must not see one view for the zone and another for the update.
  CERTPILOT_TRY(ctx->settings_.resolvers, dns::normalize_resolvers(settings.resolvers), "resolvers");
  CERTPILOT_TRY(ctx->provider_,
                dns::make_provider(settings.provider, settings.options, read_secret, ctx->settings_.resolvers),
                "DNS provider");
  if (settings.provider == "challtestsrv" && settings.resolvers.empty()) {
    // Pebble's challenge server has no zones or nameservers to ask: nothing to follow or wait for.
    ctx->null_lookup_ = std::make_unique<dns::NullLookup>();
    return ctx;
  }
  dns::LookupOptions options;
  options.resolvers = ctx->settings_.resolvers;
  CERTPILOT_TRY(options.mode, dns::parse_propagation_mode(settings.propagation), "--propagation");
  if (options.mode == dns::PropagationMode::resolvers) {
    if (settings.resolvers.empty()) {
      return util::fail(util::Errc::invalid_input, "--propagation resolvers needs --dns-resolver IP[:PORT]");
    }
    options.propagation_resolvers = ctx->settings_.resolvers;
  }
  options.timeout = settings.propagation_timeout;
  options.interval = settings.propagation_interval;
  options.off_delay = settings.propagation_delay;
  if (settings.nameserver_port) options.nameserver_port_override = static_cast<std::uint16_t>(*settings.nameserver_port);
  CERTPILOT_TRY(ctx->resolver_lookup_, dns::ResolverLookup::create(options), "DNS resolver");
  return ctx;
}

std::unique_ptr<dns::Dns01Solver> DnsContext::make_solver() {
  dns::SolverOptions options;
  options.follow_cname = resolver_lookup_ != nullptr;
  options.settle = settings_.propagation_settle;
  return std::make_unique<dns::Dns01Solver>(std::vector<dns::ProviderRoute>{{"", provider_.get()}}, lookup(), options);
}

util::Result<void> DnsContext::check_zones(const std::vector<std::string>& names) {
  if (!resolver_lookup_ || settings_.propagation != "authoritative") return util::ok();
  const std::string fix = "; if these resolvers cannot answer SOA queries, use --propagation resolvers (wait for the "
                          "--dns-resolver list) or --propagation off";
  for (const auto& name : names) {
    // The same name the solver asks about (acme::Dns01Challenge::record_name), so it finds the answers remembered.
    const std::string challenge = util::to_lower("_acme-challenge." + std::string(util::domain_without_wildcard(name)));
    auto target = resolver_lookup_->follow_cname(challenge);
    if (!target) return util::fail(target.error().wrapped("following CNAMEs of " + challenge));
    if (auto zone = resolver_lookup_->find_zone(*target); !zone) {
      return util::fail(zone.error().code, "--propagation authoritative needs the zone of " + *target +
                                                " to find its nameservers: " + zone.error().message + fix);
    }
  }
  return util::ok();
}

util::Result<void> DnsContext::check_caa(const acme::Directory& directory, const std::vector<std::string>& names,
                                         const std::string& account_url) {
  const auto& identities = directory.caa_identities.empty() ? settings_.caa_identities : directory.caa_identities;
  if (identities.empty()) {
    kLog.info("CAA check skipped: the CA publishes no caaIdentities; pass --caa-identity DOMAIN to check");
    return util::ok();
  }
  if (!resolver_lookup_) {
    kLog.info("CAA check skipped: no resolver to ask; pass --dns-resolver IP[:PORT]");
    return util::ok();
  }
  auto verdicts = dns::check_caa_all(resolver_lookup_->resolver(), names, {identities, account_url});
  if (!verdicts) return util::fail(std::move(verdicts).error());  // it names the CAA check already
  for (const auto& v : *verdicts) {
    kLog.info("CAA allows the CA", {{"name", v.name}, {"record_at", v.relevant_name.empty() ? "(none)" : v.relevant_name}});
  }
  return util::ok();
}

}  // namespace certpilot::agent
