#pragma once
// DNS UPDATE (RFC 2136) signed with TSIG (RFC 8945): BIND, Knot, PowerDNS (with TSIG), Windows...
//
// --dns-opt keys (make_rfc2136_provider):
//   server          HOST[:PORT] ([IPV6]:PORT) to send updates to, a host name resolved A then AAAA;
//                   default: the zone's primary (SOA MNAME), port `port`
//   port            port used with the SOA MNAME (default 53; tests use a loopback port)
//   resolvers       comma-separated ip[:port] used to find the zone and its primary (default: the
//                   operator's resolvers, --dns-resolver; the system's only when none are given)
//   tsig-key-name   the key's name as the server knows it (required unless the key file names it;
//                   with a key file of several keys, it picks the one to use)
//   tsig-algorithm  hmac-sha256 (default), hmac-sha512, hmac-sha1, hmac-md5 (old servers only)
//   tsig-secret-file a file with the base64 secret, or a BIND key file as tsig-keygen writes it
//   tsig-secret-env  an environment variable holding the base64 secret
//   timeout         seconds per update exchange (default 10, at least 1)
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "dns/provider.hpp"
#include "dns/provider_options.hpp"
#include "dns/rfc2136/bind_key.hpp"
#include "dns/resolver.hpp"
#include "dns/wire/tsig.hpp"

namespace certpilot::dns {

struct Rfc2136Config {
  std::string server;  // "HOST[:PORT]"; empty: the zone's SOA MNAME at `port`
  std::uint16_t port = 53;
  std::vector<std::string> resolvers;  // for zone, primary and server-name lookups; empty: the system's
  std::string key_name;
  std::string algorithm = "hmac-sha256";
  util::SecretString secret;  // base64, as in BIND key files
  // The key file's algorithm when an explicit tsig-algorithm overrides it with another one ("" when
  // they agree): named in the hint when the server rejects the key, the likely reason.
  std::string key_file_algorithm;
  std::chrono::seconds timeout{10};
};

// Thread-safe: present/cleanup keep no state between calls (each builds its own resolver).
class Rfc2136Provider final : public Provider {
 public:
  // Checks the key (name, algorithm, base64 secret) up front; the error never holds the secret.
  static Result<std::unique_ptr<Rfc2136Provider>> create(Rfc2136Config config);

  std::string_view name() const override { return "rfc2136"; }
  // Errors of present/cleanup name the zone and server but not the provider and record: the
  // solver prefixes those ("rfc2136: adding TXT <fqdn>: ...").
  // One UPDATE: delete this exact TXT value (a stale copy), then add it (RFC 2136 §2.5.4, §2.5.1),
  // so presenting twice leaves one copy and other values at the name stay.
  Result<void> present(const TxtRecord& record) override;
  // One UPDATE deleting exactly this TXT value (class NONE, RFC 2136 §2.5.4); other values stay.
  Result<void> cleanup(const TxtRecord& record) override;

 private:
  Rfc2136Provider(Rfc2136Config config, wire::TsigKey key) : config_(std::move(config)), key_(std::move(key)) {}
  Result<void> update(const TxtRecord& record, bool add);
  Result<std::string> zone_of(const TxtRecord& record);
  Result<std::string> target_server(const std::string& zone);
  Result<ResolverPtr> make_resolver() const;
  Rfc2136Config config_;
  wire::TsigKey key_;
};

// The options make_rfc2136_provider accepts (config checks use them too).
inline const std::vector<std::string> kRfc2136Options{"server", "port", "resolvers", "tsig-key-name", "tsig-algorithm",
                                                      "tsig-secret-file", "tsig-secret-env", "timeout"};
// Builds the provider from --dns-opt pairs (keys above), reading the secret file or variable.
// `resolvers`: the operator's (--dns-resolver), used unless the `resolvers` option names others.
Result<ProviderPtr> make_rfc2136_provider(const ProviderOptions& opts, const SecretReader& secrets,
                                          const std::vector<std::string>& resolvers = {});

}  // namespace certpilot::dns
