#include "dns/resolver_lookup.hpp"

#include "dns/zone.hpp"

namespace certpilot::dns {

Result<std::unique_ptr<ResolverLookup>> ResolverLookup::create(LookupOptions options, const util::Clock& clock) {
  ResolverOptions ro;
  ro.servers = options.resolvers;
  ro.timeout = options.query_timeout;
  CERTPILOT_TRY(auto resolver, Resolver::create(std::move(ro)), "DNS lookup");
  return std::unique_ptr<ResolverLookup>(new ResolverLookup(std::move(options), std::move(resolver), clock));
}

namespace {
// Long enough to span one order (check, present, wait); short enough that a daemon that reuses a
// lookup never acts on a CNAME or zone cut the operator has since changed.
constexpr std::chrono::minutes kRemember{5};
}  // namespace

template <class Compute>
Result<std::string> ResolverLookup::remembered(std::map<std::string, Remembered>& cache, const std::string& key,
                                               Compute compute) {
  const auto now = clock_.now();
  if (auto it = cache.find(key); it != cache.end() && now - it->second.at < kRemember) return it->second.answer;
  auto answer = compute();
  if (answer) cache[key] = {*answer, now};
  return answer;
}

Result<std::string> ResolverLookup::follow_cname(const std::string& fqdn) {
  return remembered(cnames_, fqdn, [&] { return dns::follow_cname(*resolver_, fqdn); });
}

Result<std::string> ResolverLookup::find_zone(const std::string& fqdn) {
  return remembered(zones_, fqdn, [&] { return dns::find_zone(*resolver_, fqdn); });
}

Result<void> ResolverLookup::wait_until_served(const std::vector<TxtExpectation>& expected) {
  PropagationOptions po;
  po.mode = options_.mode;
  po.resolvers = options_.propagation_resolvers;
  po.timeout = options_.timeout;
  po.interval = options_.interval;
  po.off_delay = options_.off_delay;
  po.query_timeout = options_.query_timeout;
  po.nameserver_port_override = options_.nameserver_port_override;
  return wait_for_propagation(*resolver_, expected, po, clock_);
}

}  // namespace certpilot::dns
