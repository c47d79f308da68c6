#pragma once
// CAA check before ordering (RFC 8659): refuse early, naming the record, when the domain's CAA
// records do not let this CA issue, instead of letting the CA refuse after the DNS work is done.
#include <string>
#include <vector>

#include "dns/resolver.hpp"

namespace certpilot::dns {

struct CaaVerdict {
  std::string name;           // the name checked ("*.a.test" for a wildcard)
  std::string relevant_name;  // where the relevant record set was found ("" when none exists)
  std::vector<std::string> records;  // that set, one describe() line each
};

// Finds the relevant CAA record set by climbing from name towards the root (RFC 8659 §3), then
// applies §4.2/§4.3: for a wildcard, issuewild properties when any exist, else issue; an empty set
// or one without issue/issuewild properties allows any CA; an unknown tag with the critical flag
// forbids issuance (§4.1). `name` may start with "*." (then wildcard is implied).
// ca_identities: the CA's domains (directory meta.caaIdentities, or --caa-identity); must not be
// empty. Refusal: Errc::invalid_input, naming the record and how to fix it.
Result<CaaVerdict> check_caa(Resolver& resolver, const std::string& name, bool wildcard,
                             const std::vector<std::string>& ca_identities);

// Every name of an order. With no identities the check is skipped with one log line saying why,
// and the result is an empty list.
Result<std::vector<CaaVerdict>> check_caa_all(Resolver& resolver, const std::vector<std::string>& names,
                                              const std::vector<std::string>& ca_identities);

// The issuer domain of an issue/issuewild value ("letsencrypt.org; validationmethods=dns-01" ->
// "letsencrypt.org"; ";" -> ""), RFC 8659 §4.2.
std::string caa_issuer_domain(const std::string& value);

}  // namespace certpilot::dns
