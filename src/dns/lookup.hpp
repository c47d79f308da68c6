#pragma once
// What Dns01Solver needs to know about the DNS, behind one interface so the solver's logic is
// tested without servers and the c-ares implementation is tested against real ones.
#include <string>
#include <vector>

#include "util/result.hpp"

namespace certpilot::dns {

struct TxtExpectation {
  std::string fqdn;                 // where the values must be served (after CNAME following)
  std::string zone;                 // the zone that holds fqdn ("" when unknown)
  std::vector<std::string> values;  // every value that must be served together (wildcard + base)
};

class DnsLookup {
 public:
  virtual ~DnsLookup() = default;
  // Follows a CNAME chain from fqdn to the name that finally holds the TXT record; returns fqdn
  // itself when there is no CNAME. Loops and over-long chains are errors naming the chain.
  [[nodiscard]] virtual util::Result<std::string> follow_cname(const std::string& fqdn) = 0;
  // The zone (apex) that holds fqdn, found by walking SOA queries up the tree.
  [[nodiscard]] virtual util::Result<std::string> find_zone(const std::string& fqdn) = 0;
  // Returns when every expectation is served (by every authoritative nameserver, or the configured
  // resolvers, depending on the mode); on deadline, an error listing each server and its answer.
  [[nodiscard]] virtual util::Result<void> wait_until_served(const std::vector<TxtExpectation>& expected) = 0;
};

// For providers whose DNS has no zones to find and nothing to wait for (challtestsrv), or when the
// operator turned checks off: follow_cname and find_zone return the name unchanged / empty.
class NullLookup final : public DnsLookup {
 public:
  util::Result<std::string> follow_cname(const std::string& fqdn) override { return fqdn; }
  util::Result<std::string> find_zone(const std::string&) override { return std::string(); }
  util::Result<void> wait_until_served(const std::vector<TxtExpectation>&) override { return util::ok(); }
};

}  // namespace certpilot::dns
