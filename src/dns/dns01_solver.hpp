#pragma once
// DNS-01 for a whole order: follow _acme-challenge CNAMEs, find each target's zone, present every
// value through the provider responsible for it, wait until they are served, and remove exactly
// what was presented afterwards. Providers and hooks never see the account key: only TXT values.
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "acme/challenge_solver.hpp"
#include "dns/lookup.hpp"
#include "dns/provider.hpp"

namespace certpilot::dns {

struct ProviderRoute {
  std::string zone_suffix;  // "" = the default route; otherwise names at or under this suffix
  Provider* provider = nullptr;
};

struct SolverOptions {
  std::chrono::seconds ttl{60};
  bool follow_cname = true;
  // Extra wait after every server serves the values: for resolvers that cached an NXDOMAIN from
  // before the record existed (up to the zone's negative TTL), or providers behind caches.
  std::chrono::milliseconds settle{0};
};

class Dns01Solver final : public acme::ChallengeSolver {
 public:
  // routes and lookup must outlive the solver. One solver per order; present/cleanup may be called
  // from different threads (a signal-driven clean-up), so the record list is guarded.
  Dns01Solver(std::vector<ProviderRoute> routes, DnsLookup& lookup, SolverOptions options = {});
  ~Dns01Solver() override;
  Dns01Solver(const Dns01Solver&) = delete;
  Dns01Solver& operator=(const Dns01Solver&) = delete;

  util::Result<void> present(const std::vector<acme::Dns01Challenge>& challenges) override;
  // Removes every record present() added, and tries to remove the one whose present() failed (a
  // provider may fail after writing). The error lists only records that were presented and are
  // still there, with their values; those stay listed for a later call. A record whose present()
  // failed and whose removal fails too is logged at debug and forgotten: it was most likely never
  // written, and its present() error is the one that matters.
  util::Result<void> cleanup(const std::vector<acme::Dns01Challenge>& challenges) override;

  // The records presented successfully and not yet removed (what is in the DNS because of us).
  std::vector<TxtRecord> presented() const;

 private:
  struct Presented {
    TxtRecord record;
    Provider* provider;
    bool confirmed;  // present() succeeded
  };
  util::Result<Provider*> route_for(const std::string& fqdn) const;
  void mark_confirmed(const TxtRecord& record, const Provider* provider);
  // Tells util::set_abandon_note which records a second Ctrl-C (exit without clean-up) leaves;
  // several solvers (orders in flight) each keep their own part.
  void publish_abandon_note();

  std::vector<ProviderRoute> routes_;
  DnsLookup& lookup_;
  SolverOptions options_;
  mutable std::mutex mu_;
  std::vector<Presented> presented_;  // guarded by mu_
};

}  // namespace certpilot::dns
