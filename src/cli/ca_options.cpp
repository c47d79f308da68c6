#include "cli/ca_options.hpp"

#include <filesystem>

#include "agent/dns_context.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"

namespace certpilot::cli {

void add_ca_flags(CLI::App& cmd, CaFlags& f, bool for_issuance) {
  cmd.add_option("--directory", f.directory,
                 "ACME directory URL, or 'letsencrypt' / 'letsencrypt-staging' (default: Let's Encrypt production)");
  cmd.add_flag("--staging", f.staging, "Use Let's Encrypt's staging directory");
  cmd.add_option("--ca-bundle", f.ca_bundle, "PEM file with the root(s) that sign the CA's HTTPS certificate");
  cmd.add_option("--state", f.state_dir, "State folder for accounts (and the store)")->capture_default_str()->check(kNonEmptyFolder);
  if (!for_issuance) return;
  cmd.add_option("--email", f.emails, "Contact address for the ACME account (repeatable)");
  cmd.add_flag("--agree-tos", f.agree_tos, "Agree to the CA's terms of service");
  cmd.add_option("--eab-kid", f.eab_kid, "External Account Binding key id from your CA");
  cmd.add_option("--eab-hmac-key-file", f.eab_hmac_key_file, "File holding the EAB MAC key (base64url)");
  cmd.add_option("--preferred-chain", f.preferred_chain, "Issuer common name of the root the chain should end at");
  cmd.add_option("--profile", f.profile, "Certificate profile to request (CAs that offer profiles)");
}

void add_dns_flags(CLI::App& cmd, DnsFlags& f) {
  cmd.add_option("--dns", f.provider, "DNS provider: rfc2136, pdns, cloudflare, exec, challtestsrv");
  cmd.add_option("--dns-opt", f.options, "Provider option KEY=VALUE (repeatable)");
  cmd.add_option("--dns-resolver", f.resolvers, "Resolver IP[:PORT] or [IPV6]:PORT for zone, CNAME and CAA lookups (repeatable)");
  cmd.add_option("--propagation", f.propagation, "authoritative, resolvers or off")
      ->check(CLI::IsMember({"authoritative", "resolvers", "off"}))
      ->capture_default_str();
  cmd.add_option("--propagation-timeout", f.propagation_timeout, "Seconds (or 2m) to wait for DNS propagation")
      ->capture_default_str();
  cmd.add_option("--caa-identity", f.caa_identities, "CA domain to check CAA records against (repeatable)");
  cmd.add_option("--propagation-interval", f.propagation_interval, "Seconds between propagation checks")
      ->capture_default_str();
  cmd.add_option("--propagation-delay", f.propagation_delay, "With --propagation off: seconds to wait instead of checking")
      ->capture_default_str();
  cmd.add_option("--propagation-settle", f.propagation_settle,
                 "Seconds to wait after every nameserver serves the records (resolver caches)")
      ->capture_default_str();
  cmd.add_option("--nameserver-port", f.nameserver_port,
                 "Advanced/tests: ask authoritative nameservers on this port instead of 53");
}

util::Result<agent::CaSettings> to_settings(const CaFlags& f) {
  agent::CaSettings s;
  if (f.staging && !f.directory.empty()) {
    return util::fail(util::Errc::invalid_input, "--staging and --directory both given; use one");
  }
  s.directory_url = agent::resolve_directory_alias(f.staging ? "letsencrypt-staging" : f.directory);
  if (!f.ca_bundle.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(f.ca_bundle, ec)) {
      return util::fail(util::Errc::invalid_input, "--ca-bundle " + f.ca_bundle + ": no such file");
    }
    s.ca_bundle = std::filesystem::absolute(f.ca_bundle).string();
  }
  for (const auto& e : f.emails) {
    const auto at = e.find('@');
    if (at == std::string::npos || at == 0 || at + 1 == e.size() || e.find_first_of(" ,;<>") != std::string::npos) {
      return util::fail(util::Errc::invalid_input, "--email '" + e + "' is not an e-mail address");
    }
    s.emails.push_back(e);
  }
  s.agree_tos = f.agree_tos;
  if (!f.eab_kid.empty() || !f.eab_hmac_key_file.empty()) {
    if (f.eab_kid.empty() || f.eab_hmac_key_file.empty()) {
      return util::fail(util::Errc::invalid_input, "External Account Binding needs both --eab-kid and --eab-hmac-key-file");
    }
    s.eab = agent::EabSettings{f.eab_kid, f.eab_hmac_key_file, "HS256"};
  }
  if (!f.preferred_chain.empty()) s.preferred_chain = f.preferred_chain;
  if (!f.profile.empty()) s.profile = f.profile;
  return s;
}

util::Result<agent::DnsSettings> to_settings(const DnsFlags& f) {
  agent::DnsSettings s;
  s.provider = f.provider;
  for (const auto& kv : f.options) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return util::fail(util::Errc::invalid_input, "--dns-opt '" + kv + "' is not KEY=VALUE");
    }
    const std::string key = kv.substr(0, eq);
    if (s.options.count(key)) {
      return util::fail(util::Errc::invalid_input, "--dns-opt " + key + " given twice");
    }
    s.options[key] = kv.substr(eq + 1);
  }
  for (const auto& r : f.resolvers) {
    auto resolver = agent::normalize_dns_resolver(r);
    if (!resolver) return util::fail(resolver.error().wrapped("--dns-resolver"));
    s.resolvers.push_back(std::move(*resolver));
  }
  s.propagation = f.propagation;
  const auto timeout = util::parse_duration(f.propagation_timeout);
  if (!timeout || timeout->count() <= 0) {
    return util::fail(util::Errc::invalid_input, "--propagation-timeout '" + f.propagation_timeout +
                                                     "' is not a duration (e.g. 120 or 2m)");
  }
  s.propagation_timeout = *timeout;
  for (const auto& c : f.caa_identities) {
    auto id = agent::normalize_caa_identity(c);
    if (!id) return util::fail(id.error().wrapped("--caa-identity"));
    s.caa_identities.push_back(std::move(*id));
  }
  const auto interval = util::parse_duration(f.propagation_interval);
  if (!interval || interval->count() <= 0) {
    return util::fail(util::Errc::invalid_input, "--propagation-interval '" + f.propagation_interval +
                                                     "' is not a duration (e.g. 1 or 2s)");
  }
  s.propagation_interval = *interval;
  const auto delay = util::parse_duration(f.propagation_delay);
  if (!delay) {
    return util::fail(util::Errc::invalid_input, "--propagation-delay '" + f.propagation_delay + "' is not a duration");
  }
  s.propagation_delay = *delay;
  const auto settle = util::parse_duration(f.propagation_settle);
  if (!settle) {
    return util::fail(util::Errc::invalid_input, "--propagation-settle '" + f.propagation_settle + "' is not a duration");
  }
  s.propagation_settle = *settle;
  if (f.nameserver_port > 65535) {
    return util::fail(util::Errc::invalid_input, "--nameserver-port " + std::to_string(f.nameserver_port) + " is not a port");
  }
  if (f.nameserver_port != 0) s.nameserver_port = f.nameserver_port;
  return s;
}

}  // namespace certpilot::cli
