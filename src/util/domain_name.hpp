#pragma once
// DNS names as certificate identifiers: one validator shared by the config parser and the ACME
// client so "exa mple.com" is rejected with the same words wherever it enters.
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace certpilot::util {

// Validates a DNS name for use as an ACME "dns" identifier (RFC 8555 §7.1.4) and returns it in
// canonical form: ASCII lowercase, without a trailing dot.
//   Accepted: LDH labels of 1..63 characters (letters, digits, hyphen; no hyphen at either end),
//   A-labels ("xn--..."), at most 253 characters in total, and a wildcard "*" as the whole
//   leftmost label only ("*.example.com"; RFC 8555 §7.1.3, RFC 6125 §6.4.3).
//   Rejected (Errc::invalid_input, the message names the value and the problem): empty names,
//   spaces and other characters outside LDH (underscore included), non-ASCII (use the punycode
//   A-label), empty labels ("a..b"), a wildcard anywhere but as the whole first label
//   ("a.*.example.com", "f*.example.com"), a bare "*", and IP addresses (IPv4 dotted quads, or any
//   name whose last label is all digits, and anything with ':').
// Pure; thread-safe.
Result<std::string> normalize_domain(std::string_view name);

// DNS-01 publishes the proof at _acme-challenge.<name without "*.">, which must itself fit in 253
// characters: a normalized name whose challenge name would not is refused here, before an order
// exists, rather than by the DNS layer half way through one.
Result<void> check_dns01_name_length(std::string_view normalized);

// True for "*.example.com". Meaningful on normalized names.
bool is_wildcard_domain(std::string_view name);

// "*.example.com" -> "example.com"; other names unchanged. The name the DNS-01 challenge is
// published under (RFC 8555 §8.4: _acme-challenge.<base>).
std::string_view domain_without_wildcard(std::string_view name);

}  // namespace certpilot::util
