#pragma once
// `certpilot serve`, and the TLS front end the renewal daemon embeds: a tls::Listener fed by a
// tls::CertRegistry, which is filled from certificate folders (watched), a local development CA,
// and in-process hand-offs of renewed certificates.
#include <chrono>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "crypto/certificate.hpp"
#include "crypto/key.hpp"
#include "tls/cert_registry.hpp"
#include "tls/listener.hpp"
#include "util/result.hpp"

namespace certpilot::agent {

class CertWatcher;

struct ServeOptions {
  std::vector<std::string> cert_dirs;           // --certs (repeatable)
  std::vector<std::string> listen = {"0.0.0.0:443"};
  std::string backend;                          // empty: the built-in responder
  bool proxy_protocol = false;
  // Local development: a CA under <state_dir>/local-ca issuing for self_signed_names.
  bool self_signed = false;
  std::vector<std::string> self_signed_names;
  std::string state_dir = "/var/lib/certpilot";
  bool plaintext = false;
  bool force_plaintext_public = false;
  std::string default_name;  // empty: the first certificate, unless strict_sni
  bool strict_sni = false;
  int threads = 0;
  std::size_t max_connections = 100000;
  std::chrono::seconds handshake_timeout{10};
  std::chrono::seconds idle_timeout{120};
  std::string client_ca_file;                   // mTLS; required unless client_cert_optional
  bool client_cert_optional = false;
  bool session_tickets = true;
  bool session_cache = true;
  // Embedded in the renewal daemon: certificates arrive through install(); none is needed at start.
  bool in_process = false;
};

class TlsService {
 public:
  // Validates the options, loads every certificate, binds, starts the loops and the folder
  // watcher. Messages for the operator (local CA trust instructions, plaintext warning) go to `out`.
  static util::Result<std::unique_ptr<TlsService>> start(const ServeOptions& options, std::ostream& out);
  ~TlsService();

  // In-process hand-off from the renewal daemon: validates the renewed certificate and serves it
  // under `name` from the next handshake on (connections in flight keep theirs). On error nothing
  // changes, the previous certificate keeps being served, and the error names the reason.
  // Thread-safe; call it from the daemon's thread, never from an event loop.
  util::Result<void> install(const std::string& name, const crypto::PrivateKey& key,
                             const crypto::CertificateChain& chain);
  util::Result<void> install_pem(const std::string& name, const std::string& key_pem, const std::string& fullchain_pem);

  tls::CertRegistry& registry() { return *registry_; }
  const std::vector<std::uint16_t>& ports() const { return listener_->ports(); }
  tls::ListenerStats stats() const { return listener_->stats(); }
  void stop();

 private:
  TlsService() = default;
  tls::CertPublisher publisher_;
  std::unique_ptr<tls::CertRegistry> registry_;
  std::unique_ptr<CertWatcher> watcher_;
  std::unique_ptr<tls::Listener> listener_;
};

// The -d names of --self-signed, validated and deduplicated: DNS names in canonical form (the
// validator `issue -d` uses, util::normalize_domain) and IPv4/IPv6 addresses as written, which the
// local CA puts in iPAddress entries (as mkcert does). Errc::invalid_input naming the bad name.
util::Result<std::vector<std::string>> self_signed_names(const std::vector<std::string>& names);

// Every check TlsService::start() makes before touching a file or a socket: flags that conflict
// (--plaintext with anything that needs TLS, --client-cert-optional without --client-ca, ...),
// out-of-range values (timeouts, --max-connections) and bad -d names are Errc::invalid_input; a
// --certs path that is missing or not a folder is Errc::io. The message names the flag and the fix.
util::Result<void> validate_serve_options(const ServeOptions& options);

// `certpilot serve`: start(), then wait for SIGINT/SIGTERM, then stop.
util::Result<void> run_serve(const ServeOptions& options, std::ostream& out);

}  // namespace certpilot::agent
