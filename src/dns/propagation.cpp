#include "dns/propagation.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "dns/zone.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace certpilot::dns {

using util::Errc;
using util::fail;

namespace {

const util::Logger kLog("dns");

// One server to ask about one name.
struct Probe {
  std::string server_label;  // "ns1.a.test (127.0.0.1:53)"
  Resolver* resolver = nullptr;
  const TxtExpectation* expectation = nullptr;
  bool satisfied = false;
  std::string last_answer = "not asked yet";
};

std::string quoted_list(const std::vector<std::string>& values) {
  if (values.empty()) return "no TXT values";
  std::vector<std::string> q;
  for (const auto& v : values) q.push_back("\"" + util::printable_excerpt(v, 100) + "\"");
  return "TXT " + util::join(q, ", ");
}

// Judges one answer: it must be authoritative when asked directly, and carry every value.
bool judge(const Result<wire::Message>& answer, bool want_authoritative, Probe& probe) {
  if (!answer) {
    probe.last_answer = answer.error().message;
    return false;
  }
  const wire::Message& m = *answer;
  const std::string& fqdn = probe.expectation->fqdn;
  if (m.header.rcode != wire::rcode::kNoError) {
    probe.last_answer = wire::rcode_name(m.header.rcode);
    return false;
  }
  if (want_authoritative && !m.header.aa) {
    probe.last_answer = "a non-authoritative answer (is it really a nameserver of the zone?)";
    return false;
  }
  std::vector<std::string> served;
  for (const auto& rr : m.answers) {
    if (rr.type != wire::type::kTxt || !wire::same_name(rr.name, fqdn)) continue;
    if (auto v = wire::parse_txt(rr.rdata)) served.push_back(*v);
  }
  std::vector<std::string> missing;
  for (const auto& want : probe.expectation->values) {
    if (std::find(served.begin(), served.end(), want) == served.end()) missing.push_back(want);
  }
  probe.last_answer = quoted_list(served);
  if (!missing.empty()) probe.last_answer += " (missing " + quoted_list(missing).substr(4) + ")";
  return missing.empty();
}

struct Plan {
  std::vector<std::unique_ptr<Resolver>> resolvers;
  std::vector<Probe> probes;
};

Result<Resolver*> add_server(Plan& plan, std::map<std::string, Resolver*>& by_server, const std::string& server,
                             const PropagationOptions& options, bool recursion) {
  if (auto it = by_server.find(server); it != by_server.end()) return it->second;
  ResolverOptions ro;
  ro.servers = {server};
  ro.timeout = options.query_timeout;
  ro.tries = 1;
  ro.recursion_desired = recursion;
  CERTPILOT_TRY(auto r, Resolver::create(std::move(ro)), "propagation check");
  plan.resolvers.push_back(std::move(r));
  by_server[server] = plan.resolvers.back().get();
  return plan.resolvers.back().get();
}

// The nameservers of each zone, asked once per wait: several names in one zone (a wildcard and
// www, say) share them, and a nameserver without an address is warned about once, not per name.
class NameserverCache {
 public:
  explicit NameserverCache(Resolver& lookup) : lookup_(lookup) {}
  Result<const std::vector<Nameserver>*> of(const std::string& zone) {
    if (auto it = by_zone_.find(zone); it != by_zone_.end()) return &it->second;
    CERTPILOT_TRY(auto nameservers, find_nameservers(lookup_, zone), "propagation check");
    for (const auto& ns : nameservers) {
      if (ns.addresses.empty() && warned_.insert(ns.name).second) {
        kLog.warn("nameserver has no address, not checked", {{"zone", zone}, {"ns", ns.name}, {"answer", ns.no_address}});
      }
    }
    return &(by_zone_[zone] = std::move(nameservers));
  }

 private:
  Resolver& lookup_;
  std::map<std::string, std::vector<Nameserver>> by_zone_;
  std::set<std::string> warned_;
};

Result<void> add_resolver_probes(Plan& plan, std::map<std::string, Resolver*>& by_server, const TxtExpectation& e,
                                 const PropagationOptions& options) {
  for (const auto& server : options.resolvers) {
    auto r = add_server(plan, by_server, server, options, true);  // its errors say "propagation check"
    if (!r) return fail(std::move(r).error());
    plan.probes.push_back(Probe{server, *r, &e});
  }
  return util::ok();
}

Result<void> add_nameserver_probes(Plan& plan, std::map<std::string, Resolver*>& by_server, const TxtExpectation& e,
                                   const std::vector<Nameserver>& nameservers, const PropagationOptions& options) {
  for (const auto& ns : nameservers) {
    for (const auto& addr : ns.addresses) {
      const std::string server = address_with_port(addr, options.nameserver_port_override.value_or(53));
      auto r = add_server(plan, by_server, server, options, false);
      if (!r) return fail(std::move(r).error());
      plan.probes.push_back(Probe{ns.name + " (" + server + ")", *r, &e});
    }
  }
  return util::ok();
}

Result<Plan> make_plan(Resolver& lookup, const std::vector<TxtExpectation>& expected, const PropagationOptions& options) {
  Plan plan;
  std::map<std::string, Resolver*> by_server;
  NameserverCache nameservers(lookup);
  for (const auto& e : expected) {
    if (options.mode == PropagationMode::resolvers) {
      if (auto added = add_resolver_probes(plan, by_server, e, options); !added) return fail(added.error());
      continue;
    }
    std::string zone = e.zone;
    if (zone.empty()) {
      CERTPILOT_TRY(zone, find_zone(lookup, e.fqdn), "propagation check");
    }
    auto servers = nameservers.of(zone);  // its errors say "propagation check"
    if (!servers) return fail(std::move(servers).error());
    if (auto added = add_nameserver_probes(plan, by_server, e, **servers, options); !added) return fail(added.error());
  }
  return plan;
}

// Asks every server that does not serve the values yet, once; returns how many still do not.
Result<std::size_t> ask_round(Plan& plan, bool authoritative) {
  std::vector<Resolver::Job> jobs;
  std::vector<Probe*> asked;
  for (auto& p : plan.probes) {
    if (p.satisfied) continue;
    jobs.push_back({p.resolver, p.expectation->fqdn, wire::type::kTxt});
    asked.push_back(&p);
  }
  auto answers = Resolver::query_all(jobs);
  std::size_t waiting = 0;
  for (std::size_t i = 0; i < asked.size(); ++i) {
    if (!answers[i] && answers[i].error().code == Errc::cancelled) return fail(Errc::cancelled, "cancelled");
    asked[i]->satisfied = judge(answers[i], authoritative, *asked[i]);
    if (!asked[i]->satisfied) ++waiting;
  }
  return waiting;
}

std::string seconds_text(std::chrono::nanoseconds d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + "s";
}

// The time actually waited (it can pass the timeout by the last round's query time) and the
// timeout, so the two never disagree; then what each server answered last.
util::Error timed_out(const Plan& plan, std::chrono::nanoseconds waited, std::chrono::milliseconds timeout, int rounds) {
  util::Error err(Errc::timeout, "propagation check: not every server serves the TXT records after " +
                                     seconds_text(waited) + " (timeout " + seconds_text(timeout) + ", " +
                                     std::to_string(rounds) + (rounds == 1 ? " round" : " rounds") + ")");
  std::vector<std::string> lines;
  for (const auto& p : plan.probes) {
    lines.push_back(p.server_label + " " + p.expectation->fqdn + ": " + (p.satisfied ? "ok" : p.last_answer));
  }
  err.message += ": " + util::join(lines, "; ");
  return err;
}

}  // namespace

Result<PropagationMode> parse_propagation_mode(const std::string& text) {
  const std::string t = util::to_lower(text);
  if (t == "authoritative") return PropagationMode::authoritative;
  if (t == "resolvers") return PropagationMode::resolvers;
  if (t == "off") return PropagationMode::off;
  return fail(Errc::invalid_input, "propagation mode \"" + util::printable_excerpt(text, 40) +
                                       "\" is not one of authoritative, resolvers, off");
}

Result<void> wait_for_propagation(Resolver& lookup, const std::vector<TxtExpectation>& expected,
                                  const PropagationOptions& options, const util::Clock& clock) {
  if (expected.empty()) return util::ok();
  if (options.mode == PropagationMode::off) {
    kLog.info("propagation check off, waiting a fixed delay",
              {{"delay_ms", static_cast<long long>(options.off_delay.count())}});
    if (!clock.sleep_for(options.off_delay)) return fail(Errc::cancelled, "propagation wait: cancelled");
    return util::ok();
  }
  if (options.mode == PropagationMode::resolvers && options.resolvers.empty()) {
    return fail(Errc::invalid_input, "propagation mode resolvers needs at least one resolver");
  }
  auto made = make_plan(lookup, expected, options);
  if (!made) return fail(std::move(made).error());
  Plan plan = std::move(*made);
  const bool authoritative = options.mode == PropagationMode::authoritative;
  const auto start = clock.now();
  const auto deadline = start + options.timeout;
  int round = 1;
  for (;; ++round) {
    CERTPILOT_TRY(const std::size_t waiting, ask_round(plan, authoritative), "propagation wait");
    if (waiting == 0) {
      kLog.info("TXT records served", {{"servers", plan.resolvers.size()}, {"rounds", round}});
      return util::ok();
    }
    // Poll until the deadline itself: the last pause is cut short so that a final round runs at
    // the deadline, whatever the interval (an interval longer than what is left must not end
    // the wait early while the message claims the whole timeout).
    const auto now = clock.now();
    if (now >= deadline) break;
    const auto pause = std::min(options.interval, std::chrono::ceil<std::chrono::milliseconds>(deadline - now));
    kLog.debug("waiting for TXT records", {{"pending", waiting}, {"round", round}});
    if (!clock.sleep_for(pause)) return fail(Errc::cancelled, "propagation wait: cancelled");
  }
  return fail(timed_out(plan, clock.now() - start, options.timeout, round));
}

}  // namespace certpilot::dns
