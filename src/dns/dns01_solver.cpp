#include "dns/dns01_solver.hpp"

#include <algorithm>
#include <map>

#include "util/cancel.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace certpilot::dns {

namespace {
const util::Logger kLog("dns");

bool at_or_under(const std::string& name, const std::string& suffix) {
  if (suffix.empty()) return true;
  if (name.size() == suffix.size()) return util::iequals(name, suffix);
  return name.size() > suffix.size() && name[name.size() - suffix.size() - 1] == '.' &&
         util::iequals(std::string_view(name).substr(name.size() - suffix.size()), suffix);
}
}  // namespace

Dns01Solver::Dns01Solver(std::vector<ProviderRoute> routes, DnsLookup& lookup, SolverOptions options)
    : routes_(std::move(routes)), lookup_(lookup), options_(options) {}

Dns01Solver::~Dns01Solver() { util::set_abandon_note(this, ""); }

void Dns01Solver::publish_abandon_note() {
  std::string note;
  {
    std::lock_guard lock(mu_);
    // Unconfirmed ones too: a provider interrupted mid-call may have written the record.
    for (const auto& p : presented_) {
      note += "  TXT " + p.record.fqdn + " \"" + p.record.value + "\" (" + std::string(p.provider->name()) + ")\n";
    }
  }
  util::set_abandon_note(this, note);
}

util::Result<Provider*> Dns01Solver::route_for(const std::string& fqdn) const {
  const ProviderRoute* best = nullptr;
  for (const auto& r : routes_) {
    if (r.provider == nullptr || !at_or_under(fqdn, r.zone_suffix)) continue;
    if (best == nullptr || r.zone_suffix.size() > best->zone_suffix.size()) best = &r;
  }
  if (best == nullptr) {
    return util::fail(util::Errc::invalid_input, "no DNS provider is configured for " + fqdn +
                                                     " (after following CNAMEs); add a provider for its zone");
  }
  return best->provider;
}

util::Result<void> Dns01Solver::present(const std::vector<acme::Dns01Challenge>& challenges) {
  // A wildcard and its base name share one TXT name: group values so both are presented and both
  // are awaited together (RFC 8555 §8.4 allows several TXT values at one name).
  std::map<std::string, std::vector<std::string>> by_name;
  for (const auto& c : challenges) by_name[util::to_lower(c.record_name())].push_back(c.txt_value);

  std::vector<TxtExpectation> expectations;
  for (const auto& [name, values] : by_name) {
    std::string target = name;
    if (options_.follow_cname) {
      CERTPILOT_TRY(target, lookup_.follow_cname(name), "following CNAMEs of " + name);
      if (target != name) kLog.info("challenge delegated by CNAME", {{"name", name}, {"target", target}});
    }
    // The zone is a hint for providers that need one (rfc2136 finds its own when it is empty): a
    // resolver that cannot answer SOA (a test DNS, a locked-down resolver) must not stop an exec hook.
    std::string zone;
    if (auto found = lookup_.find_zone(target); found) {
      zone = std::move(*found);
    } else {
      kLog.warn("zone not found; the provider gets none", {{"fqdn", target}, {"error", found.error().message}});
    }
    CERTPILOT_TRY(Provider * provider, route_for(target), "DNS-01");
    for (const auto& value : values) {
      TxtRecord record{zone, target, value, options_.ttl};
      {
        // Remember it before the call: a provider that fails half-way may still have added it, so
        // cleanup() tries to remove it too (quietly: see there).
        std::lock_guard lock(mu_);
        presented_.push_back({record, provider, false});
      }
      publish_abandon_note();
      if (auto r = provider->present(record); !r) {
        return util::fail(r.error().wrapped(std::string(provider->name()) + ": adding TXT " + target));
      }
      mark_confirmed(record, provider);
      // The one info line per record (providers log theirs at debug): what an operator needs to
      // find it with dig or in the provider's UI. The value is public: the CA reads it from DNS.
      kLog.info("TXT record presented", {{"fqdn", target},
                                         {"zone", zone.empty() ? "(found by the provider)" : zone},
                                         {"provider", provider->name()},
                                         {"value", record.value}});
    }
    expectations.push_back({target, zone, values});
  }
  CERTPILOT_TRY_VOID(lookup_.wait_until_served(expectations), "waiting for the TXT records to propagate");
  if (options_.settle.count() > 0 && !util::sleep_cancellable(options_.settle)) {
    return util::fail(util::Errc::cancelled, "waiting for DNS caches to settle: cancelled");
  }
  return util::ok();
}

util::Result<void> Dns01Solver::cleanup(const std::vector<acme::Dns01Challenge>&) {
  const util::CancelShield shield;  // after Ctrl-C the records must still come off
  std::vector<Presented> todo;
  {
    std::lock_guard lock(mu_);
    todo.swap(presented_);
  }
  std::vector<std::string> failures;
  std::vector<Presented> failed;
  for (const auto& p : todo) {
    if (auto r = p.provider->cleanup(p.record); !r) {
      if (!p.confirmed) {
        // Its present() failed, and that error is the one reported. Removing it was a courtesy
        // for a provider that fails after writing; failing here almost always means it was never
        // written (the same bad key, the same unreachable API), so it is not called left behind,
        // and a debug line keeps the present() error the first and only one the operator reads.
        kLog.debug("TXT record whose add failed was not removed either; most likely it was never written",
                  {{"fqdn", p.record.fqdn}, {"provider", p.provider->name()}, {"error", r.error().message}});
        continue;
      }
      failures.push_back(std::string(p.provider->name()) + ": removing TXT " + p.record.fqdn + " \"" +
                         p.record.value + "\": " + r.error().message);
      failed.push_back(p);
    } else {
      kLog.info("TXT record removed", {{"fqdn", p.record.fqdn},
                                       {"zone", p.record.zone.empty() ? "(found by the provider)" : p.record.zone},
                                       {"provider", p.provider->name()},
                                       {"value", p.record.value}});
    }
  }
  if (!failures.empty()) {
    {
      std::lock_guard lock(mu_);
      presented_.insert(presented_.end(), failed.begin(), failed.end());  // a later call may retry
    }
    publish_abandon_note();
    util::Error err(util::Errc::dns, "could not remove " + std::to_string(failures.size()) +
                                                    " TXT record(s); remove them by hand");
    err.details = std::move(failures);
    return util::fail(std::move(err));
  }
  publish_abandon_note();
  return util::ok();
}

void Dns01Solver::mark_confirmed(const TxtRecord& record, const Provider* provider) {
  std::lock_guard lock(mu_);
  for (auto& p : presented_) {
    if (p.provider == provider && p.record.fqdn == record.fqdn && p.record.value == record.value) p.confirmed = true;
  }
}

std::vector<TxtRecord> Dns01Solver::presented() const {
  std::lock_guard lock(mu_);
  std::vector<TxtRecord> out;
  for (const auto& p : presented_) {
    if (p.confirmed) out.push_back(p.record);
  }
  return out;
}

}  // namespace certpilot::dns
