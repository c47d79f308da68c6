#include "agent/dns_check.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "acme/challenge_solver.hpp"
#include "agent/dns_context.hpp"
#include "agent/issue.hpp"
#include "crypto/key.hpp"
#include "dns/caa.hpp"
#include "dns/resolver_lookup.hpp"
#include "dns/zone.hpp"
#include "util/domain_name.hpp"
#include "util/log.hpp"
#include "util/scope_exit.hpp"
#include "util/strings.hpp"

namespace certpilot::agent {

namespace {

const util::Logger kLog("agent");

// A fresh value per name: a wildcard and its base share one TXT name, and each must be seen.
std::string test_value() { return "certpilot-dns-check-" + util::hex_encode(crypto::random_bytes(12)); }

std::vector<std::string> caa_lines(const std::vector<dns::CaaVerdict>& verdicts) {
  std::vector<std::string> out;
  for (const auto& v : verdicts) {
    if (v.relevant_name.empty()) {
      out.push_back(v.name + ": allowed (no CAA records)");
      continue;
    }
    std::string line = v.name + ": allowed by CAA at " + v.relevant_name +
                       (v.records.empty() ? "" : " (" + util::join(v.records, "; ") + ")");
    // The CA will compare these with the account it is asked through; dns-check opens none.
    if (!v.unchecked.empty()) {
      line += "; " + util::join(v.unchecked, "; ") + ": dns-check opens no account, issue and renew check it";
    }
    out.push_back(std::move(line));
  }
  return out;
}

// The servers the propagation check asks about `zone`, for the report. Best effort: the check
// itself already passed or failed on its own lookups.
std::vector<std::string> servers_for(dns::ResolverLookup* lookup, const DnsSettings& settings, const std::string& zone,
                                     std::map<std::string, std::vector<std::string>>& cache) {
  if (settings.propagation == "resolvers") return settings.resolvers;
  if (settings.propagation != "authoritative" || lookup == nullptr || zone.empty()) return {};
  if (auto it = cache.find(zone); it != cache.end()) return it->second;
  std::vector<std::string> out;
  if (auto ns = dns::find_nameservers(lookup->resolver(), zone); ns) {
    const auto port = static_cast<std::uint16_t>(settings.nameserver_port.value_or(53));
    for (const auto& n : *ns) {
      for (const auto& addr : n.addresses) out.push_back(n.name + " (" + dns::address_with_port(addr, port) + ")");
    }
  } else {
    // Debug only: the propagation check asked the same question and reported its own failure.
    kLog.debug("could not list the nameservers for the report", {{"zone", zone}, {"error", ns.error().message}});
  }
  cache[zone] = out;
  return out;
}

}  // namespace

util::Result<DnsCheckReport> run_dns_check(const DnsCheckOptions& options) {
  CERTPILOT_TRY(auto names, normalize_domains(options.domains), "dns-check");
  CERTPILOT_TRY(auto ctx, DnsContext::create(options.dns), "dns-check");
  auto* resolver_lookup = dynamic_cast<dns::ResolverLookup*>(&ctx->lookup());

  DnsCheckReport report;
  report.provider = std::string(ctx->provider().name());
  report.propagation = resolver_lookup ? options.dns.propagation : "none";

  // No CA directory here: check CAA only against the identities the operator names.
  if (!options.dns.caa_identities.empty()) {
    if (resolver_lookup == nullptr) {
      return util::fail(util::Errc::invalid_input, "dns-check: --caa-identity needs --dns-resolver HOST[:PORT] to ask");
    }
    // No account either: records with an RFC 8657 accounturi are reported as not checked.
    auto verdicts = dns::check_caa_all(resolver_lookup->resolver(), names, {options.dns.caa_identities, std::nullopt});
    if (!verdicts) return util::fail(std::move(verdicts).error());  // "CAA check for <name>: ..." already
    report.caa = caa_lines(*verdicts);
  }

  std::vector<acme::Dns01Challenge> challenges;
  for (const auto& name : names) {
    acme::Dns01Challenge c;
    c.identifier = std::string(util::domain_without_wildcard(name));
    c.wildcard = util::is_wildcard_domain(name);
    c.txt_value = test_value();
    challenges.push_back(c);
    DnsCheckName n;
    n.name = name;
    n.record_name = c.record_name();
    n.value = c.txt_value;
    report.names.push_back(std::move(n));
  }

  auto solver = ctx->make_solver();
  // Whatever happens below, the test values come off again (the explicit call below records the
  // outcome; this guard covers any early return added later).
  bool cleaned = false;
  util::ScopeExit guard([&] {
    if (!cleaned) (void)solver->cleanup(challenges);
  });

  const auto start = std::chrono::steady_clock::now();
  auto presented = solver->present(challenges);
  report.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  report.served = presented.has_value();
  if (!presented) report.failure = presented.error();

  // What was written where, before clean-up forgets it.
  const auto written = solver->presented();
  auto cleanup = solver->cleanup(challenges);
  cleaned = true;
  if (!cleanup) report.cleanup_failure = cleanup.error();
  const auto left_behind = solver->presented();

  std::map<std::string, std::vector<std::string>> ns_cache;
  for (auto& n : report.names) {
    for (const auto& rec : written) {
      if (rec.value != n.value) continue;
      n.written_to = rec.fqdn;
      n.zone = rec.zone;
    }
    if (n.written_to.empty()) continue;
    n.cleaned_up = std::none_of(left_behind.begin(), left_behind.end(),
                                [&](const dns::TxtRecord& r) { return r.value == n.value; });
    n.servers = servers_for(resolver_lookup, options.dns, n.zone, ns_cache);
  }
  return report;
}

}  // namespace certpilot::agent
