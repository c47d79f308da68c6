#pragma once
// Zone finding and CNAME following over a Resolver (the operator's chosen resolvers, which may
// see a different view than the public one: split horizon).
#include <string>
#include <vector>

#include "dns/resolver.hpp"

namespace certpilot::dns {

// The apex of the zone holding fqdn: walks up from fqdn asking for SOA. An SOA owned by the name
// itself marks the apex; a negative answer's SOA in the authority section (RFC 2308 §3) names the
// zone directly. Names that are CNAMEs are skipped (a CNAME cannot be an apex, RFC 1034 §3.6.2).
// Errors: SERVFAIL/REFUSED or transport failures, naming the resolver and the name asked.
Result<std::string> find_zone(Resolver& resolver, const std::string& fqdn);

// The zone's primary nameserver (SOA MNAME), where RFC 2136 §4 sends updates.
Result<std::string> find_primary(Resolver& resolver, const std::string& zone);

// Follows CNAMEs from fqdn (at most max_hops) and returns the final name, or fqdn when it is not a
// CNAME. A loop or a too-long chain is an error that lists the chain. Errors do not repeat fqdn
// as a prefix: the caller says "following CNAMEs of <fqdn>" (Dns01Solver does).
Result<std::string> follow_cname(Resolver& resolver, const std::string& fqdn, int max_hops = 10);

// The nameservers of zone (NS records) and each one's addresses (A and AAAA).
struct Nameserver {
  std::string name;
  std::vector<std::string> addresses;  // empty: it cannot be asked; no_address says why
  // What the resolver answered for A and AAAA when neither gave an address: "SERVFAIL",
  // "NXDOMAIN", "no data", the transport error ("no answer (timed out after 2 tries)"), or per
  // family when they differ ("A: SERVFAIL, AAAA: no data").
  std::string no_address;
};
// Every NS of the zone, sorted by name, those without an address included (with no_address set),
// so the caller decides how to report them; nothing is logged here. Error (Errc::dns) when no NS
// has an address, naming each one and what the resolver answered.
Result<std::vector<Nameserver>> find_nameservers(Resolver& resolver, const std::string& zone);

// The parent of a name ("a.test" for "www.a.test", "" for "test").
std::string parent_name(const std::string& name);

}  // namespace certpilot::dns
