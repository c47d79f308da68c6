#pragma once
// The configuration file (TOML; documented with a full example in docs/config.md). Parsing collects
// every problem with its line and column instead of stopping at the first, so `certpilot
// check-config` can list them all; unknown keys are errors so a typo never passes silently.
// Parsing reads nothing but the text given (no environment, no other files): paths inside, such as
// eab_hmac_key_file, are checked by whoever opens them.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/key.hpp"
#include "util/result.hpp"

namespace certpilot::agent {

struct CaConfig {
  std::string directory;        // the directory URL; "letsencrypt"/"letsencrypt-staging" resolved
  std::string ca_bundle;        // PEM file of roots to trust for the CA's HTTPS; "" = system roots
  std::string email;            // account contact ("mailto:" added by the client)
  bool agree_tos = false;       // must be true to create an account (RFC 8555 §7.3 termsOfServiceAgreed)
  std::string eab_kid;          // External Account Binding key id (RFC 8555 §7.3.4)
  std::string eab_hmac_key_file;  // file holding the base64url HMAC key; never inline in the config
  std::string preferred_chain;  // issuer CN of the root to prefer among alternate chains
  std::string profile;          // ACME profile name, if the CA offers profiles
};

struct StorageConfig {
  std::string dir = "/var/lib/certpilot";
  int archive_keep = 5;
};

enum class Propagation { authoritative, resolvers, off };
std::string_view to_string(Propagation p);

struct DnsSetup {
  std::string name;      // the <setup-name> of [dns.<setup-name>]
  std::string provider;  // rfc2136 | pdns | cloudflare | exec | challtestsrv
  // Provider options, the same keys as the CLI's --dns-opt KEY=VALUE. Values may be secrets
  // (tokens, TSIG keys): never log or print them; prefer the provider's *_file options.
  std::map<std::string, std::string> options;
  std::vector<std::string> resolvers;  // "host[:port]" for propagation = "resolvers"
  Propagation propagation = Propagation::authoritative;
  std::chrono::seconds propagation_timeout{120};
  std::vector<std::string> caa_identities;  // caa_identity: e.g. "letsencrypt.org", checked before ordering
  std::uint32_t line = 0;
};

struct CertificateConfig {
  std::string name;                  // store name: [a-z0-9._-], unique
  std::vector<std::string> domains;  // normalized (util::normalize_domain), unique
  crypto::KeyType key_type = crypto::KeyType::ec_p256;
  std::string dns;                   // a [dns.<setup-name>] that exists
  std::string deploy_hook;           // program run after each issuance/renewal; "" = none
  std::chrono::seconds deploy_hook_timeout{60};
  std::uint32_t line = 0;            // where the [[certificate]] starts, for later messages
};

struct DaemonConfig {
  int max_parallel_orders = 4;
  // Renew when this much lifetime remains, instead of ARI / the lifetime rule (tests, special cases).
  std::optional<std::chrono::seconds> renew_before;
};

struct ListenerConfig {
  bool enabled = false;
  std::vector<std::string> listen;   // "0.0.0.0:443", "[::]:443"
  std::string backend;               // "127.0.0.1:8080"
  std::string default_certificate;   // name of a [[certificate]] served when SNI matches nothing
};

struct Config {
  std::string path;  // the file it came from
  std::string text;  // the TOML it was parsed from: the daemon hands this exact config to its job processes
  CaConfig ca;
  StorageConfig storage;
  std::map<std::string, DnsSetup> dns;
  std::vector<CertificateConfig> certificates;
  DaemonConfig daemon;
  ListenerConfig listener;
  // "file:line:column: message" for what may fail later but must not stop a daemon that serves
  // other certificates (a secret file not there yet): check-config prints them, the daemon logs them.
  std::vector<std::string> warnings;

  const CertificateConfig* find_certificate(std::string_view name) const;
};

struct ConfigIssue {
  std::uint32_t line = 0;    // 1-based; 0 when no position applies
  std::uint32_t column = 0;
  std::string message;       // what is wrong and what to write instead
};

struct ConfigCheck {
  std::optional<Config> config;      // set when there are no issues
  std::vector<ConfigIssue> issues;   // in file order
  std::vector<ConfigIssue> warnings;  // in file order; they do not stop the config from loading
};

// Parses and validates TOML text; file_name is used in messages only. Pure.
ConfigCheck check_config_text(std::string_view text, std::string_view file_name);

// "file:line:column: message" (or "file: message" without a position).
std::string format_issue(std::string_view file_name, const ConfigIssue& issue);

// Reads and checks a file. On issues: Errc::invalid_input, message "config <file>: N error(s)",
// one Error::details line per issue (format_issue); on a read failure, Errc::io naming the file.
util::Result<Config> load_config(const std::filesystem::path& path);
// The same from text already read (path for messages only).
util::Result<Config> parse_config(std::string_view text, const std::string& path);

}  // namespace certpilot::agent
