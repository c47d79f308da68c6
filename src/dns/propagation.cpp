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

Result<Plan> make_plan(Resolver& lookup, const std::vector<TxtExpectation>& expected, const PropagationOptions& options) {
  Plan plan;
  std::map<std::string, Resolver*> by_server;
  for (const auto& e : expected) {
    if (options.mode == PropagationMode::resolvers) {
      for (const auto& server : options.resolvers) {
        auto r1_ = add_server(plan, by_server, server, options, true);
    if (!r1_) return fail(std::move(r1_).error());
    auto* r = std::move(*r1_);
        plan.probes.push_back(Probe{server, r, &e});
      }
      continue;
    }
    std::string zone = e.zone;
    if (zone.empty()) {
      CERTPILOT_TRY(zone, find_zone(lookup, e.fqdn), "propagation check");
    }
    CERTPILOT_TRY(auto nameservers, find_nameservers(lookup, zone), "propagation check");
    for (const auto& ns : nameservers) {
      for (const auto& addr : ns.addresses) {
        const std::string server = address_with_port(addr, options.nameserver_port_override.value_or(53));
        auto r2_ = add_server(plan, by_server, server, options, false);
    if (!r2_) return fail(std::move(r2_).error());
    auto* r = std::move(*r2_);
        plan.probes.push_back(Probe{ns.name + " (" + server + ")", r, &e});
      }
    }
  }
  return plan;
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
  auto r3_ = make_plan(lookup, expected, options);
    if (!r3_) return fail(std::move(r3_).error());
    auto plan = std::move(*r3_);
  const bool authoritative = options.mode == PropagationMode::authoritative;
  const auto deadline = clock.now() + options.timeout;
  for (int round = 1;; ++round) {
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
      if (!answers[i] && answers[i].error().code == Errc::cancelled) return fail(Errc::cancelled, "propagation wait: cancelled");
      asked[i]->satisfied = judge(answers[i], authoritative, *asked[i]);
      if (!asked[i]->satisfied) ++waiting;
    }
    if (waiting == 0) {
      kLog.info("TXT records served", {{"servers", plan.resolvers.size()}, {"rounds", round}});
      return util::ok();
    }
    if (clock.now() + options.interval > deadline) break;
    kLog.debug("waiting for TXT records", {{"pending", waiting}, {"round", round}});
    if (!clock.sleep_for(options.interval)) return fail(Errc::cancelled, "propagation wait: cancelled");
  }
  util::Error err(Errc::timeout, "propagation check: not every server serves the TXT records after " +
                                     std::to_string(std::chrono::duration_cast<std::chrono::seconds>(options.timeout).count()) +
                                     "s");
  for (const auto& p : plan.probes) {
    err.details.push_back(p.server_label + " " + p.expectation->fqdn + ": " + (p.satisfied ? "ok" : p.last_answer));
  }
  err.message += ": " + util::join(err.details, "; ");
  err.details.clear();
  return fail(std::move(err));
}

}  // namespace certpilot::dns
