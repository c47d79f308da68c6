#include "dns/caa.hpp"

#include <algorithm>

#include "dns/zone.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace certpilot::dns {

using util::Errc;
using util::fail;

namespace {

struct CaaSet {
  std::string owner;
  std::vector<wire::Caa> caas;
  std::vector<std::string> lines;
};

// RFC 8659 §3: the relevant RRset is the first non-empty CAA RRset found climbing from the name.
Result<CaaSet> relevant_set(Resolver& resolver, const std::string& start) {
  for (std::string name = start; !name.empty(); name = parent_name(name)) {
    const std::string what = "CAA check for " + start + " (CAA " + name + ")";
    CERTPILOT_TRY(auto m, resolver.query(name, wire::type::kCaa), what);
    if (m.header.rcode != wire::rcode::kNoError && m.header.rcode != wire::rcode::kNxDomain) {
      // §3: a CA must not issue when the lookup fails; nor do we guess.
      return fail(Errc::dns, what + ": " + resolver.description() + " answered " + wire::rcode_name(m.header.rcode));
    }
    CaaSet set;
    for (const auto& rr : m.answers) {
      if (rr.type != wire::type::kCaa) continue;  // the CNAME of an aliased name is followed by the resolver
      CERTPILOT_TRY(auto caa, wire::parse_caa(rr.rdata), what);
      set.owner = wire::canonical_name(rr.name);
      set.caas.push_back(std::move(caa));
      set.lines.push_back(wire::describe(rr));
    }
    if (!set.caas.empty()) return set;
  }
  return CaaSet{};
}

bool known_tag(const std::string& tag) {
  for (const char* t : {"issue", "issuewild", "iodef", "contactemail", "contactphone"}) {
    if (util::iequals(tag, t)) return true;
  }
  return false;
}

}  // namespace

std::string caa_issuer_domain(const std::string& value) {
  const std::string v(util::trim(value.substr(0, value.find(';'))));
  return util::to_lower(v);
}

Result<CaaVerdict> check_caa(Resolver& resolver, const std::string& name, bool wildcard,
                             const std::vector<std::string>& ca_identities) {
  std::string base = wire::canonical_name(name);
  if (base.rfind("*.", 0) == 0) {
    base = base.substr(2);
    wildcard = true;
  }
  const std::string shown = wildcard ? "*." + base : base;
  if (ca_identities.empty()) return fail(Errc::invalid_input, "CAA check for " + shown + ": no CA identity to compare");
  auto r1_ = relevant_set(resolver, base);
    if (!r1_) return fail(std::move(r1_).error());
    auto set = std::move(*r1_);
  CaaVerdict verdict{shown, set.owner, set.lines};
  if (set.caas.empty()) return verdict;

  for (std::size_t i = 0; i < set.caas.size(); ++i) {
    if (set.caas[i].critical() && !known_tag(set.caas[i].tag)) {
      return fail(Errc::invalid_input, "CAA check for " + shown + ": " + set.lines[i] +
                                           " has the critical flag on a property we do not know (RFC 8659 §4.1), so no CA may issue");
    }
  }
  // §4.3: issuewild, when present, alone governs wildcard names.
  const bool any_wild = std::any_of(set.caas.begin(), set.caas.end(),
                                    [](const wire::Caa& c) { return util::iequals(c.tag, "issuewild"); });
  const std::string tag = wildcard && any_wild ? "issuewild" : "issue";
  std::vector<std::size_t> relevant;
  for (std::size_t i = 0; i < set.caas.size(); ++i) {
    if (util::iequals(set.caas[i].tag, tag)) relevant.push_back(i);
  }
  if (relevant.empty()) return verdict;  // §4.2: no issue property: CAA does not restrict issuance
  for (std::size_t i : relevant) {
    const std::string issuer = caa_issuer_domain(set.caas[i].value);
    for (const auto& id : ca_identities) {
      if (!issuer.empty() && issuer == util::to_lower(util::trim(id))) return verdict;
    }
  }
  std::vector<std::string> lines;
  for (std::size_t i : relevant) lines.push_back(set.lines[i]);
  return fail(Errc::invalid_input,
              "CAA check for " + shown + ": the CA (" + util::join(ca_identities, ", ") + ") may not issue: " +
                  util::join(lines, "; ") + " (RFC 8659 §4." + (tag == "issue" ? "2" : "3") + "); add a record such as " +
                  set.owner + ". CAA 0 " + tag + " \"" + ca_identities.front() + "\", or use a CA the record allows");
}

Result<std::vector<CaaVerdict>> check_caa_all(Resolver& resolver, const std::vector<std::string>& names,
                                              const std::vector<std::string>& ca_identities) {
  if (ca_identities.empty()) {
    util::Logger("dns").warn(
        "CAA check skipped: the CA publishes no caaIdentities in its directory meta and no --caa-identity was given",
        {{"names", util::join(names, ",")}});
    return std::vector<CaaVerdict>{};
  }
  std::vector<CaaVerdict> out;
  for (const auto& n : names) {
    auto r2_ = check_caa(resolver, n, false, ca_identities);
    if (!r2_) return fail(std::move(r2_).error());
    auto v = std::move(*r2_);
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace certpilot::dns
