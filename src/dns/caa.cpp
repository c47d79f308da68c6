#include "dns/caa.hpp"

#include <algorithm>

#include "dns/zone.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace certpilot::dns {

using util::Errc;
using util::fail;

namespace {

// The only validation method certpilot answers, as RFC 8657 §4 lists it in validationmethods.
constexpr const char* kOurMethod = "dns-01";

struct CaaSet {
  std::string owner;
  std::vector<wire::Caa> caas;
  std::vector<std::string> lines;
};

// RFC 8659 §3: the relevant RRset is the first non-empty CAA RRset found climbing from the name.
// `shown` is the name as the caller gave it, for messages.
Result<CaaSet> relevant_set(Resolver& resolver, const std::string& start, const std::string& shown) {
  for (std::string name = start; !name.empty(); name = parent_name(name)) {
    const std::string what = "CAA check for " + shown + " (CAA " + name + ")";
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

bool is_wsp(char c) { return c == ' ' || c == '\t'; }  // RFC 5234 WSP: the only blanks §4.2 allows

std::string_view trim_wsp(std::string_view s) {
  while (!s.empty() && is_wsp(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_wsp(s.back())) s.remove_suffix(1);
  return s;
}

bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// label = (ALPHA / DIGIT) *( *("-") (ALPHA / DIGIT)): the shape of domain labels and parameter tags.
bool is_label(std::string_view s) {
  if (s.empty() || !is_alnum(s.front()) || !is_alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return is_alnum(c) || c == '-'; });
}

bool is_issuer_domain(std::string_view s) {
  const auto labels = util::split(s, '.');
  return std::all_of(labels.begin(), labels.end(), [](const std::string& l) { return is_label(l); });
}

// value = *(%x21-3A / %x3C-7E): printable, no blank, no ";".
bool is_parameter_value(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x21 && c <= 0x7E && c != ';'; });
}

std::string quoted(std::string_view s) { return "\"" + util::printable_excerpt(s, 100) + "\""; }

Result<std::pair<std::string, std::string>> parse_parameter(std::string_view text) {
  const std::string_view p = trim_wsp(text);
  if (p.empty()) return fail(Errc::invalid_input, "an empty parameter (\";\" twice in a row, or at the end)");
  const auto eq = p.find('=');
  if (eq == std::string_view::npos) return fail(Errc::invalid_input, "parameter " + quoted(p) + " has no \"=\"");
  const std::string_view tag = trim_wsp(p.substr(0, eq));
  const std::string_view value = trim_wsp(p.substr(eq + 1));
  if (!is_label(tag)) {
    return fail(Errc::invalid_input, "parameter tag " + quoted(tag) + " is not letters, digits and inner hyphens");
  }
  if (!is_parameter_value(value)) {
    return fail(Errc::invalid_input, "the value of parameter " + std::string(tag) + " (" + quoted(value) +
                                         ") has a blank or control character");
  }
  return std::pair{std::string(tag), std::string(value)};
}

// Why a record that names the CA still does not authorize us (RFC 8657), "" when it does. Every
// occurrence of a parameter must let us in: which of two a CA reads is not specified.
// RFC 8657 writes the tags in lowercase and CAs (Boulder) match them exactly; other tags are
// ignored (RFC 8659 §4.2: a CA ignores parameters it does not know).
std::string excluded_by(const CaaIssueValue& v, const CaaRequester& who, std::vector<std::string>& unchecked) {
  for (const auto& [tag, value] : v.parameters) {
    if (tag == "validationmethods") {
      const auto methods = util::split(value, ',');
      if (std::find(methods.begin(), methods.end(), kOurMethod) == methods.end()) {
        return "validationmethods=" + value + " does not include " + kOurMethod +
               ", the only method certpilot uses (RFC 8657 §4): add " + kOurMethod + " to that list";
      }
    } else if (tag == "accounturi") {
      if (!who.account_url) {
        unchecked.push_back("accounturi=" + value);
      } else if (value != *who.account_url) {
        return "accounturi=" + value + " is not this account (" + *who.account_url +
               ", RFC 8657 §3): issue with the account it names, or set accounturi to this account's URL";
      }
    }
  }
  return "";
}

// A record's issuer before any parsing, for spotting a record meant for the CA whose parameters
// are malformed (then the CA ignores the whole record, and the operator wants to know why).
std::string issuer_as_written(const std::string& value) {
  return util::to_lower(trim_wsp(std::string_view(value).substr(0, value.find(';'))));
}

bool is_ours(const std::string& issuer, const std::vector<std::string>& ca_identities) {
  if (issuer.empty()) return false;
  return std::any_of(ca_identities.begin(), ca_identities.end(),
                     [&](const std::string& id) { return issuer == util::to_lower(util::trim(id)); });
}

// Outcome of the relevant properties: authorized (possibly with accounturi left unchecked), or
// the records that name the CA and what excludes each.
struct Judgement {
  bool authorized = false;
  std::vector<std::string> unchecked;  // when authorized only by records with an unchecked accounturi
  std::vector<std::string> exclusions;  // "<record> names the CA, but its <why>"
};

Judgement judge(const CaaSet& set, const std::vector<std::size_t>& relevant, const CaaRequester& who) {
  Judgement j;
  std::vector<std::string> unchecked;
  for (std::size_t i : relevant) {
    const std::string& line = set.lines[i];
    auto parsed = parse_caa_issue_value(set.caas[i].value);
    if (!parsed) {
      if (is_ours(issuer_as_written(set.caas[i].value), who.ca_identities)) {
        j.exclusions.push_back(line + " names the CA, but its value is not RFC 8659 §4.2 syntax (" +
                               parsed.error().message + "), so a CA ignores the record: fix the syntax");
      }
      continue;
    }
    if (!is_ours(parsed->issuer, who.ca_identities)) continue;
    std::vector<std::string> open;
    if (auto why = excluded_by(*parsed, who, open); !why.empty()) {
      j.exclusions.push_back(line + " names the CA, but its " + why);
      continue;
    }
    j.authorized = true;
    if (open.empty()) {  // one record that fully authorizes us settles it
      j.unchecked.clear();
      return j;
    }
    for (const auto& o : open) unchecked.push_back(o + " in " + line + " was not checked (no account URL given)");
  }
  if (j.authorized) j.unchecked = std::move(unchecked);
  return j;
}

Result<CaaVerdict> refuse(const std::string& shown, const CaaSet& set, const std::vector<std::size_t>& relevant,
                          const std::string& tag, const CaaRequester& who, const Judgement& j) {
  const std::string head = "CAA check for " + shown + ": the CA (" + util::join(who.ca_identities, ", ") + ") may not issue: ";
  if (!j.exclusions.empty()) return fail(Errc::invalid_input, head + util::join(j.exclusions, "; "));
  std::vector<std::string> lines;
  for (std::size_t i : relevant) lines.push_back(set.lines[i]);
  return fail(Errc::invalid_input,
              head + util::join(lines, "; ") + " (RFC 8659 §4." + (tag == "issue" ? "2" : "3") + "); add a record such as " +
                  set.owner + ". CAA 0 " + tag + " \"" + who.ca_identities.front() + "\", or use a CA the record allows");
}

}  // namespace

Result<CaaIssueValue> parse_caa_issue_value(const std::string& value) {
  const auto semi = value.find(';');
  const std::string_view head = trim_wsp(std::string_view(value).substr(0, semi));
  CaaIssueValue out;
  if (!head.empty()) {
    if (!is_issuer_domain(head)) {
      return fail(Errc::invalid_input, "issuer " + quoted(head) + " is not a domain name of letters, digits and hyphens");
    }
    out.issuer = util::to_lower(head);
  }
  if (semi == std::string::npos) return out;
  const std::string_view rest = trim_wsp(std::string_view(value).substr(semi + 1));
  if (rest.empty()) return out;  // "ca.example;" has no parameters
  for (const auto& part : util::split(rest, ';')) {
    auto parameter = parse_parameter(part);
    if (!parameter) return fail(std::move(parameter).error());
    out.parameters.push_back(std::move(*parameter));
  }
  return out;
}

std::string caa_issuer_domain(const std::string& value) {
  auto parsed = parse_caa_issue_value(value);
  return parsed ? parsed->issuer : std::string();
}

Result<CaaVerdict> check_caa(Resolver& resolver, const std::string& name, bool wildcard, const CaaRequester& requester) {
  std::string base = wire::canonical_name(name);
  if (base.rfind("*.", 0) == 0) {
    base = base.substr(2);
    wildcard = true;
  }
  const std::string shown = wildcard ? "*." + base : base;
  if (requester.ca_identities.empty()) {
    return fail(Errc::invalid_input, "CAA check for " + shown + ": no CA identity to compare");
  }
  auto found = relevant_set(resolver, base, shown);  // its errors already say "CAA check for <name>"
  if (!found) return fail(std::move(found).error());
  const CaaSet set = std::move(*found);
  CaaVerdict verdict{shown, set.owner, set.lines, {}};
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
  const Judgement j = judge(set, relevant, requester);
  if (!j.authorized) return refuse(shown, set, relevant, tag, requester, j);
  verdict.unchecked = j.unchecked;
  return verdict;
}


Result<std::vector<CaaVerdict>> check_caa_all(Resolver& resolver, const std::vector<std::string>& names,
                                              const CaaRequester& requester) {
  if (requester.ca_identities.empty()) {
    util::Logger("dns").warn(
        "CAA check skipped: the CA publishes no caaIdentities in its directory meta and no --caa-identity was given",
        {{"names", util::join(names, ",")}});
    return std::vector<CaaVerdict>{};
  }
  std::vector<CaaVerdict> out;
  for (const auto& n : names) {
    auto verdict = check_caa(resolver, n, false, requester);
    if (!verdict) return fail(std::move(verdict).error());
    out.push_back(std::move(*verdict));
  }
  return out;
}

}  // namespace certpilot::dns
