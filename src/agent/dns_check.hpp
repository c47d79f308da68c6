#pragma once
// `certpilot dns-check`: prove the DNS-01 path before the first real order. Presents a random test
// value for every name through the configured provider (following _acme-challenge CNAMEs like an
// order would), waits until every authoritative nameserver serves it, removes it again on every
// path (success, failure, cancellation), and reports what it saw. No CA is involved.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "agent/settings.hpp"
#include "util/error.hpp"
#include "util/result.hpp"

namespace certpilot::agent {

struct DnsCheckOptions {
  std::vector<std::string> domains;  // as typed; validated and normalized here ("*.a.test" allowed)
  DnsSettings dns;
};

// What happened to one name.
struct DnsCheckName {
  std::string name;         // normalized, "*.a.test" for a wildcard
  std::string record_name;  // "_acme-challenge.a.test": where the CA would look
  std::string written_to;   // the name the TXT value was written at, after CNAME following ("" = never written)
  std::string zone;         // the zone it was written in ("" = unknown; the provider found its own)
  std::string value;        // the test value ("certpilot-dns-check-<hex>")
  // The servers that were asked whether they serve it: "ns1.a.test (127.0.0.1:53)" in mode
  // authoritative, the resolvers in mode resolvers; empty when unknown or not checked.
  std::vector<std::string> servers;
  bool cleaned_up = false;  // the provider removed the value (false: never written, or removal failed)
};

struct DnsCheckReport {
  std::string provider;
  std::string propagation;  // "authoritative", "resolvers", "off", or "none" (no resolver to ask)
  std::vector<DnsCheckName> names;
  std::vector<std::string> caa;  // one line per name when --caa-identity was given
  bool served = false;           // the propagation check passed (or the fixed delay of mode off ended)
  std::chrono::milliseconds elapsed{0};  // from the first update until served (or until it failed)
  std::optional<util::Error> failure;    // presenting or propagation failed (or was cancelled)
  std::optional<util::Error> cleanup_failure;  // some value could not be removed: listed per record
};

// Errors before anything was written (bad names, provider options, CAA refusal) are returned as
// the Result's error; once a value may have been written, the outcome is in the report (failure,
// cleanup_failure) so the caller can print what was seen. Uses util::cancel_requested(): a
// cancelled wait still removes the values. Not thread-safe with itself (one check per process).
util::Result<DnsCheckReport> run_dns_check(const DnsCheckOptions& options);

}  // namespace certpilot::agent
