#pragma once
// CAA check before ordering (RFC 8659): refuse early, naming the record, when the domain's CAA
// records do not let this CA issue, instead of letting the CA refuse after the DNS work is done.
// RFC 8657 parameters are honoured too: validationmethods (certpilot validates with dns-01 only)
// and accounturi (when the caller knows the account URL).
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dns/resolver.hpp"

namespace certpilot::dns {

struct CaaVerdict {
  std::string name;           // the name checked ("*.a.test" for a wildcard)
  std::string relevant_name;  // where the relevant record set was found ("" when none exists)
  std::vector<std::string> records;  // that set, one describe() line each
  // What the check could not confirm although the CA may refuse for it, one line each: the CA is
  // allowed only by records with an RFC 8657 accounturi and no account URL was given
  // ("accounturi=<uri> in <record> was not checked (no account URL given)").
  std::vector<std::string> unchecked;
};

// Who asks: the CA's domains (directory meta.caaIdentities, or --caa-identity; must not be empty)
// and, once the account is open, its URL for RFC 8657 accounturi (nullopt: not known, e.g.
// dns-check, which opens no account; such records are then allowed and listed as unchecked).
struct CaaRequester {
  std::vector<std::string> ca_identities;
  std::optional<std::string> account_url;
};

// Finds the relevant CAA record set by climbing from name towards the root (RFC 8659 §3), then
// applies §4.2/§4.3: for a wildcard, issuewild properties when any exist, else issue; an empty set
// or one without issue/issuewild properties allows any CA; an unknown tag with the critical flag
// forbids issuance (§4.1). A record naming the CA authorizes us only if its RFC 8657 parameters do
// too (validationmethods lists dns-01; accounturi is our account, when known). `name` may start
// with "*." (then wildcard is implied). Refusal: Errc::invalid_input, naming each record that
// names the CA with the parameter that excludes us, and how to fix it. Messages start with
// "CAA check for <name>"; callers add no further CAA prefix.
Result<CaaVerdict> check_caa(Resolver& resolver, const std::string& name, bool wildcard, const CaaRequester& requester);

// Every name of an order. With no identities the check is skipped with one log line saying why,
// and the result is an empty list.
Result<std::vector<CaaVerdict>> check_caa_all(Resolver& resolver, const std::vector<std::string>& names,
                                              const CaaRequester& requester);

// An issue/issuewild value split by the RFC 8659 §4.2 grammar:
//   issue-value = *WSP [issuer-domain-name *WSP] [";" *WSP [parameters *WSP]]
//   parameters  = (parameter *WSP ";" *WSP parameters) / parameter
//   parameter   = tag *WSP "=" *WSP value      value = *(%x21-3A / %x3C-7E)
struct CaaIssueValue {
  std::string issuer;  // lowercased; "" when the value names no CA (";": nobody may issue)
  std::vector<std::pair<std::string, std::string>> parameters;  // tag, value; in order, as written
};
// Errc::invalid_input saying what is wrong ("parameter \"x\" has no \"=\""); the caller names the
// record, which shows the whole value.
Result<CaaIssueValue> parse_caa_issue_value(const std::string& value);

// The issuer domain of an issue/issuewild value ("letsencrypt.org; validationmethods=dns-01" ->
// "letsencrypt.org"; ";" -> ""), RFC 8659 §4.2; "" for a value that does not parse, which names
// no CA a CA would recognise.
std::string caa_issuer_domain(const std::string& value);

}  // namespace certpilot::dns
