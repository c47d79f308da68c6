#include "dns/zone.hpp"

#include <algorithm>

#include "util/strings.hpp"

namespace certpilot::dns {

using util::Errc;
using util::fail;

namespace {

// SERVFAIL, REFUSED and friends mean the resolver could not tell us: never guess past them.
Result<void> usable(const wire::Message& m, const std::string& what, const Resolver& r) {
  const auto rc = m.header.rcode;
  if (rc == wire::rcode::kNoError || rc == wire::rcode::kNxDomain) return util::ok();
  return fail(Errc::dns, what + ": " + r.description() + " answered " + wire::rcode_name(rc));
}

std::vector<std::string> answer_names(const wire::Message& m, const std::string& owner, std::uint16_t t) {
  std::vector<std::string> out;
  for (const auto& rr : m.answers) {
    if (rr.type != t || !wire::same_name(rr.name, owner)) continue;
    if (auto n = wire::parse_name_rdata(rr.rdata)) out.push_back(wire::canonical_name(*n));
  }
  return out;
}

std::vector<std::string> addresses_in(const Result<wire::Message>& answer) {
  std::vector<std::string> out;
  if (!answer || answer->header.rcode != wire::rcode::kNoError) return out;
  for (const auto& rr : answer->answers) {
    if (rr.type == wire::type::kA) {
      if (auto a = wire::parse_a(rr.rdata)) out.push_back(*a);
    } else if (rr.type == wire::type::kAaaa) {
      if (auto a = wire::parse_aaaa(rr.rdata)) out.push_back(*a);
    }
  }
  return out;
}

// What one address query got, in a word where there is one: the operator's next step differs
// (SERVFAIL: the NS name's zone is broken; NXDOMAIN: the NS record names nothing; no answer: the
// resolver is unreachable). A transport error loses its "query <name> <type> @<server>: " head,
// which the message around it already says.
std::string outcome(const Result<wire::Message>& answer, const Resolver::Job& job) {
  if (!answer) {
    const std::string& msg = answer.error().message;
    const std::string head = "query " + job.name + " " + wire::type_name(job.qtype) + " @" + job.resolver->description() + ": ";
    return msg.rfind(head, 0) == 0 ? msg.substr(head.size()) : msg;
  }
  return wire::answer_outcome(*answer);
}

std::string why_no_address(const Result<wire::Message>& a, const Resolver::Job& a_job,
                           const Result<wire::Message>& aaaa, const Resolver::Job& aaaa_job) {
  const std::string for_a = outcome(a, a_job);
  const std::string for_aaaa = outcome(aaaa, aaaa_job);
  return for_a == for_aaaa ? for_a : "A: " + for_a + ", AAAA: " + for_aaaa;
}

}  // namespace

std::string parent_name(const std::string& name) {
  const std::string n = wire::canonical_name(name);
  const auto dot = n.find('.');
  return dot == std::string::npos ? std::string() : n.substr(dot + 1);
}

Result<std::string> find_zone(Resolver& resolver, const std::string& fqdn) {
  const std::string start = wire::canonical_name(fqdn);
  for (std::string name = start; !name.empty(); name = parent_name(name)) {
    const std::string what = "finding the zone of " + start + " (SOA " + name + ")";
    CERTPILOT_TRY(auto m, resolver.query(name, wire::type::kSoa), what);
    if (auto u = usable(m, what, resolver); !u) return fail(u.error());
    bool is_cname = false;
    for (const auto& rr : m.answers) {
      if (!wire::same_name(rr.name, name)) continue;
      if (rr.type == wire::type::kSoa) return name;
      if (rr.type == wire::type::kCname) is_cname = true;
    }
    if (is_cname) continue;
    for (const auto& rr : m.authority) {
      if (rr.type == wire::type::kSoa && wire::is_subdomain(start, rr.name) && !rr.name.empty()) {
        return wire::canonical_name(rr.name);
      }
    }
  }
  // Split horizon: the usual cause is a resolver that does not see the zone's view.
  const std::string hint = resolver.asks_system_resolvers()
                               ? "; give resolvers that see its zone with --dns-resolver HOST[:PORT]"
                               : "; check the name, and that these resolvers see its zone (--dns-resolver)";
  return fail(Errc::dns, "finding the zone of " + start + ": no SOA record at or above it (asked " +
                             resolver.description() + ")" + hint);
}

Result<std::string> find_primary(Resolver& resolver, const std::string& zone) {
  const std::string what = "finding the primary of zone " + zone;
  CERTPILOT_TRY(auto m, resolver.query(zone, wire::type::kSoa), what);
  if (auto u = usable(m, what, resolver); !u) return fail(u.error());
  for (const auto& rr : m.answers) {
    if (rr.type == wire::type::kSoa && wire::same_name(rr.name, zone)) {
      CERTPILOT_TRY(auto soa, wire::parse_soa(rr.rdata), what);
      return wire::canonical_name(soa.mname);
    }
  }
  return fail(Errc::dns, what + ": " + resolver.description() + " has no SOA record for it");
}

Result<std::string> follow_cname(Resolver& resolver, const std::string& fqdn, int max_hops) {
  std::vector<std::string> chain{wire::canonical_name(fqdn)};
  for (;;) {
    const std::string& name = chain.back();
    // The caller names the start ("following CNAMEs of <fqdn>"); here only the hop being asked.
    CERTPILOT_TRY(auto m, resolver.query(name, wire::type::kCname), "CNAME " + name);
    if (auto u = usable(m, "CNAME " + name, resolver); !u) return fail(u.error());
    auto targets = answer_names(m, name, wire::type::kCname);
    if (targets.empty()) return name;
    const std::string& next = targets.front();
    if (std::find(chain.begin(), chain.end(), next) != chain.end()) {
      chain.push_back(next);
      return fail(Errc::dns, "CNAME loop " + util::join(chain, " -> "));
    }
    chain.push_back(next);
    if (static_cast<int>(chain.size()) - 1 > max_hops) {
      return fail(Errc::dns, "more than " + std::to_string(max_hops) + " CNAMEs: " + util::join(chain, " -> "));
    }
  }
}

Result<std::vector<Nameserver>> find_nameservers(Resolver& resolver, const std::string& zone) {
  const std::string what = "finding the nameservers of " + zone;
  CERTPILOT_TRY(auto m, resolver.query(zone, wire::type::kNs), what);
  if (auto u = usable(m, what, resolver); !u) return fail(u.error());
  std::vector<Nameserver> out;
  for (auto& name : answer_names(m, zone, wire::type::kNs)) out.push_back(Nameserver{name, {}, {}});
  if (out.empty()) return fail(Errc::dns, what + ": " + resolver.description() + " returned no NS records");
  std::sort(out.begin(), out.end(), [](const Nameserver& a, const Nameserver& b) { return a.name < b.name; });
  std::vector<Resolver::Job> jobs;
  for (const auto& ns : out) {
    jobs.push_back({&resolver, ns.name, wire::type::kA});
    jobs.push_back({&resolver, ns.name, wire::type::kAaaa});
  }
  auto answers = Resolver::query_all(jobs);
  for (std::size_t i = 0; i < out.size(); ++i) {
    // One family missing is normal; only when both give nothing does what they said matter.
    out[i].addresses = addresses_in(answers[2 * i]);
    for (auto& a : addresses_in(answers[2 * i + 1])) out[i].addresses.push_back(std::move(a));
    if (out[i].addresses.empty()) {
      out[i].no_address = why_no_address(answers[2 * i], jobs[2 * i], answers[2 * i + 1], jobs[2 * i + 1]);
    }
  }
  // A nameserver we cannot reach by address cannot be checked; the caller warns and goes on with
  // the others, unless there are none.
  const bool any = std::any_of(out.begin(), out.end(), [](const Nameserver& ns) { return !ns.addresses.empty(); });
  if (!any) {
    std::vector<std::string> unresolved;
    for (const auto& ns : out) unresolved.push_back(ns.name + " (" + ns.no_address + ")");
    return fail(Errc::dns, what + ": no address (A/AAAA) for " + util::join(unresolved, ", ") + " at " +
                               resolver.description());
  }
  return out;
}

}  // namespace certpilot::dns
