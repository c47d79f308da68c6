#pragma once
// dns::DnsLookup over c-ares: what Dns01Solver uses to follow CNAMEs, find zones and wait for
// propagation, through the resolvers the operator chose (split horizon: the ones that see the
// public view).
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dns/lookup.hpp"
#include "dns/propagation.hpp"
#include "dns/resolver.hpp"

namespace certpilot::dns {

struct LookupOptions {
  std::vector<std::string> resolvers;  // "ip[:port]"; empty: the system's (/etc/resolv.conf)
  PropagationMode mode = PropagationMode::authoritative;
  std::vector<std::string> propagation_resolvers;  // mode resolvers
  std::chrono::seconds timeout{120};               // propagation deadline
  std::chrono::milliseconds interval{2000};        // between polls
  std::chrono::seconds off_delay{30};              // mode off
  std::chrono::milliseconds query_timeout{3000};   // one try of one query
  // Test/advanced: query every authoritative nameserver address at this port instead of 53.
  std::optional<std::uint16_t> nameserver_port_override;
};

// Not thread-safe (owns one c-ares channel): one per order/worker. CNAME targets and zones found
// are remembered for a few minutes, so a check before ordering (DnsContext::check_zones) costs the
// solver no second round of queries.
class ResolverLookup final : public DnsLookup {
 public:
  static Result<std::unique_ptr<ResolverLookup>> create(LookupOptions options,
                                                        const util::Clock& clock = util::SystemClock::instance());

  Result<std::string> follow_cname(const std::string& fqdn) override;
  Result<std::string> find_zone(const std::string& fqdn) override;
  Result<void> wait_until_served(const std::vector<TxtExpectation>& expected) override;

  // The resolver used for zone/CNAME/CAA questions (e.g. for check_caa_all).
  Resolver& resolver() { return *resolver_; }

 private:
  ResolverLookup(LookupOptions options, ResolverPtr resolver, const util::Clock& clock)
      : options_(std::move(options)), resolver_(std::move(resolver)), clock_(clock) {}
  struct Remembered {
    std::string answer;
    util::SysTime at;
  };
  // The answer for key if found less than kRemember ago, else compute()'s (kept when it succeeds).
  template <class Compute>
  Result<std::string> remembered(std::map<std::string, Remembered>& cache, const std::string& key, Compute compute);

  LookupOptions options_;
  ResolverPtr resolver_;
  const util::Clock& clock_;
  std::map<std::string, Remembered> cnames_;
  std::map<std::string, Remembered> zones_;
};

}  // namespace certpilot::dns
