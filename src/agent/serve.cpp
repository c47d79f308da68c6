#include "agent/serve.hpp"

#include <arpa/inet.h>

#include <fstream>
#include <ostream>
#include <set>
#include <sstream>
#include <tuple>

#include "agent/cert_source.hpp"
#include "crypto/certificate.hpp"
#include "tls/local_ca.hpp"
#include "util/cancel.hpp"
#include "util/domain_name.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace certpilot::agent {

using util::Errc;
using util::fail;

namespace {

const util::Logger kLog("agent");

// Longer would overflow nothing, but is a typo rather than a wish (a day without a single byte).
constexpr std::chrono::seconds kMaxTimeout{24 * 3600};

bool is_ip_address(const std::string& name) {
  unsigned char buf[16];
  return inet_pton(AF_INET, name.c_str(), buf) == 1 || inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

util::Result<void> check_timeout(const char* flag, std::chrono::seconds value, long fallback) {
  if (value.count() <= 0 || value > kMaxTimeout) {
    return fail(Errc::invalid_input, std::string(flag) + " " + std::to_string(value.count()) +
                                         ": give a number of seconds from 1 to " + std::to_string(kMaxTimeout.count()) +
                                         " (default " + std::to_string(fallback) + ")");
  }
  return util::ok();
}

// Flags that mean nothing without TLS: accepting them would serve something other than what was
// asked for (plaintext instead of the --certs, no client certificates despite --client-ca).
util::Result<void> check_plaintext_conflicts(const ServeOptions& o) {
  const std::vector<std::pair<bool, const char*>> tls_only = {
      {!o.cert_dirs.empty(), "--certs"},          {o.self_signed, "--self-signed"},
      {!o.client_ca_file.empty(), "--client-ca"}, {o.client_cert_optional, "--client-cert-optional"},
      {!o.default_name.empty(), "--default-name"}, {o.strict_sni, "--strict-sni"},
      {!o.session_tickets, "--no-session-tickets"}, {!o.session_cache, "--no-session-cache"}};
  for (const auto& [given, flag] : tls_only) {
    if (given) {
      return fail(Errc::invalid_input, std::string("--plaintext and ") + flag + " conflict: " + flag +
                                           " needs TLS and --plaintext serves without it; drop one of them");
    }
  }
  return util::ok();
}

util::Result<void> check_cert_dirs(const ServeOptions& o) {
  for (const auto& dir : o.cert_dirs) {
    std::error_code ec;
    const auto st = std::filesystem::status(dir, ec);
    if (!std::filesystem::exists(st)) {
      return fail(Errc::io, "--certs " + dir + ": no such folder; give the folder 'certpilot issue --out' wrote, or a "
                                               "store (--state), and create it first if certificates arrive later");
    }
    if (!std::filesystem::is_directory(st)) {
      return fail(Errc::io, "--certs " + dir + " is a file, not a folder; give the folder that holds key.pem and "
                                               "fullchain.pem");
    }
  }
  return util::ok();
}

}  // namespace

util::Result<std::vector<std::string>> self_signed_names(const std::vector<std::string>& names) {
  if (names.empty()) {
    return fail(Errc::invalid_input, "--self-signed needs at least one -d NAME (e.g. -d app.localhost)");
  }
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& n : names) {
    std::string name = n;
    if (!is_ip_address(n)) {
      // The same validator as `issue -d`, so a name refused there is refused here in the same words.
      CERTPILOT_TRY(name, util::normalize_domain(n), "-d");
    }
    if (seen.insert(name).second) {
      out.push_back(std::move(name));
    }
  }
  return out;
}

util::Result<void> validate_serve_options(const ServeOptions& o) {
  if (o.plaintext) {
    if (auto r = check_plaintext_conflicts(o); !r) {
      return r;
    }
  } else if (o.force_plaintext_public) {
    return fail(Errc::invalid_input, "--force-plaintext-public only applies with --plaintext; drop it");
  }
  if (!o.self_signed && !o.self_signed_names.empty()) {
    return fail(Errc::invalid_input, "-d " + o.self_signed_names.front() +
                                         " is for --self-signed; add --self-signed, or serve issued certificates "
                                         "with --certs DIR");
  }
  if (o.self_signed) {
    const auto names = self_signed_names(o.self_signed_names);
    if (!names) {
      return fail(names.error());
    }
    for (const auto& n : *names) {
      if (o.strict_sni && is_ip_address(n)) {
        // RFC 6066 §3: "Literal IPv4 and IPv6 addresses are not permitted in HostName".
        return fail(Errc::invalid_input, "--strict-sni and -d " + n +
                                             " conflict: a client connecting to an IP address sends no server name, "
                                             "which --strict-sni refuses; drop one of them");
      }
    }
  }
  if (o.client_cert_optional && o.client_ca_file.empty()) {
    return fail(Errc::invalid_input, "--client-cert-optional needs --client-ca FILE (the CAs whose client "
                                     "certificates to ask for)");
  }
  if (o.proxy_protocol && o.backend.empty()) {
    return fail(Errc::invalid_input, "--proxy-protocol needs --backend HOST:PORT: the header is sent to the backend");
  }
  if (o.listen.empty()) {
    return fail(Errc::invalid_input, "no --listen address; give one, e.g. --listen 0.0.0.0:443");
  }
  if (o.max_connections == 0) {
    return fail(Errc::invalid_input, "--max-connections 0 would refuse every client; give at least 1");
  }
  for (const auto& [flag, value, fallback] : {std::tuple{"--handshake-timeout", o.handshake_timeout, 10L},
                                               std::tuple{"--idle-timeout", o.idle_timeout, 120L}}) {
    if (auto r = check_timeout(flag, value, fallback); !r) {
      return r;
    }
  }
  return check_cert_dirs(o);
}

namespace {

util::Result<void> check_plaintext(const ServeOptions& o, std::ostream& out) {
  for (const auto& addr : o.listen) {
    CERTPILOT_TRY(bool loopback, tls::is_loopback_address(addr), "--listen");
    if (!loopback && !o.force_plaintext_public) {
      return fail(Errc::invalid_input, "--plaintext refuses the non-loopback address " + addr +
                                           ": traffic would cross the network unencrypted "
                                           "(use 127.0.0.1, or add --force-plaintext-public)");
    }
  }
  out << "WARNING: --plaintext: serving WITHOUT TLS. For local development only; never expose this.\n";
  kLog.warn("serving without TLS (--plaintext)", {});
  return util::ok();
}

util::Result<tls::TlsSettings> make_settings(const ServeOptions& o) {
  tls::TlsSettings s;
  if (o.backend.empty()) {
    s.alpn = {"http/1.1"};  // the responder speaks HTTP/1.1 only; with a backend, h2 passes through
  }
  s.session_tickets = o.session_tickets;
  s.session_cache = o.session_cache;
  if (!o.client_ca_file.empty()) {
    std::ifstream in(o.client_ca_file, std::ios::binary);
    if (!in) {
      return fail(Errc::io, "--client-ca " + o.client_ca_file + ": cannot read");
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    s.client_ca_pem = ss.str();
    // Checked here, before anything is served, rather than at the first certificate's context.
    if (auto cas = crypto::parse_pem_certificates(s.client_ca_pem); !cas) {
      return fail(Errc::invalid_input, "--client-ca " + o.client_ca_file + " is not a PEM certificate bundle (" +
                                           cas.error().message +
                                           "); give the CA certificates that sign your clients' certificates");
    }
    s.client_ca_source = o.client_ca_file;
    s.client_auth = o.client_cert_optional ? tls::ClientAuth::optional : tls::ClientAuth::required;
  }
  return s;
}

// A URL for the trust instructions: a name a browser can open (not a wildcard), IPv6 in brackets.
std::string example_url(const std::vector<std::string>& names) {
  std::string host = names.front();
  for (const auto& n : names) {
    if (!util::is_wildcard_domain(n)) {
      host = n;
      break;
    }
  }
  if (util::is_wildcard_domain(host)) {
    host = "www" + host.substr(1);
  } else if (host.find(':') != std::string::npos) {
    host = "[" + host + "]";
  }
  return "https://" + host + "/";
}

util::Result<void> add_self_signed(const ServeOptions& o, tls::CertRegistry& registry, std::ostream& out) {
  CERTPILOT_TRY(const auto names, self_signed_names(o.self_signed_names), "--self-signed");
  const auto dir = std::filesystem::path(o.state_dir) / "local-ca";
  bool created = false;
  const auto now = util::SystemClock::instance().now();
  CERTPILOT_TRY(auto ca, tls::LocalCa::open_or_create(dir, now, &created), "--self-signed");
  CERTPILOT_TRY(auto material, ca.issue(names, now), "--self-signed");
  if (auto r = registry.put("self-signed", material, now); !r) {
    return fail(r.error().wrapped("--self-signed"));
  }
  const std::string ca_path = ca.cert_path().string();
  out << (created ? "Created a local development CA: " : "Using the local development CA: ") << ca_path << "\n"
      << "Certificate for: " << util::join(names, ", ") << "\n"
      << "To trust it (development machines only: it can vouch for any name):\n"
      << "  curl:            curl --cacert " << ca_path << " " << example_url(names) << "\n"
      << "  Debian/Ubuntu:   sudo cp " << ca_path << " /usr/local/share/ca-certificates/certpilot-local-ca.crt"
      << " && sudo update-ca-certificates\n"
      << "  Firefox/Chrome:  certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n certpilot-local-ca -i " << ca_path << "\n";
  return util::ok();
}

}  // namespace

util::Result<std::unique_ptr<TlsService>> TlsService::start(const ServeOptions& o, std::ostream& out) {
  std::unique_ptr<TlsService> svc(new TlsService());
  if (o.cert_dirs.empty() && !o.self_signed && !o.plaintext && !o.in_process) {
    return fail(Errc::invalid_input, "nothing to serve: give --certs DIR, or --self-signed -d NAME, or --plaintext");
  }
  if (auto r = validate_serve_options(o); !r) {
    return fail(r.error());
  }
  if (o.plaintext) {
    if (auto r = check_plaintext(o, out); !r) {
      return fail(r.error());
    }
  }
  CERTPILOT_TRY(auto settings, make_settings(o), "serve");
  tls::SniOptions sni;
  sni.default_name = o.default_name;
  sni.default_to_first = !o.strict_sni && o.default_name.empty();
  svc->registry_ = std::make_unique<tls::CertRegistry>(svc->publisher_, settings, sni);
  // Bound before any certificate is made or loaded, so a bad --listen or --backend is reported
  // before the local CA prints its instructions; no handshake happens before start().
  tls::ListenerOptions lo;
  lo.listen = o.listen;
  lo.backend = o.backend;
  lo.proxy_protocol = o.proxy_protocol;
  lo.plaintext = o.plaintext;
  lo.threads = o.threads;
  lo.max_connections = o.max_connections;
  lo.handshake_timeout = o.handshake_timeout;
  lo.idle_timeout = o.idle_timeout;
  CERTPILOT_TRY(svc->listener_, tls::Listener::create(std::move(lo), settings, svc->publisher_), "serve");
  if (!o.plaintext) {
    if (o.self_signed) {
      if (auto r = add_self_signed(o, *svc->registry_, out); !r) {
        return fail(r.error());
      }
    }
    if (!o.cert_dirs.empty()) {
      std::vector<std::filesystem::path> roots(o.cert_dirs.begin(), o.cert_dirs.end());
      svc->watcher_ = std::make_unique<CertWatcher>(*svc->registry_, roots, util::SystemClock::instance());
      auto loaded = svc->watcher_->load_all();
      if (!loaded && !o.self_signed) {
        // Folders without a usable certificate are a local-files problem (exit 3), like a
        // missing --certs folder, not a failed operation.
        util::Error err = loaded.error().wrapped("--certs");
        if (err.code == Errc::not_found) {
          err.code = Errc::io;
        }
        return fail(std::move(err));
      }
    }
  }
  svc->listener_->start();
  if (svc->watcher_) {
    if (auto r = svc->watcher_->start(); !r) {
      return fail(r.error());
    }
  }
  return svc;
}

TlsService::~TlsService() { stop(); }

void TlsService::stop() {
  if (watcher_) {
    watcher_->stop();
  }
  if (listener_) {
    listener_->stop();
  }
}

util::Result<void> TlsService::install(const std::string& name, const crypto::PrivateKey& key,
                                       const crypto::CertificateChain& chain) {
  return install_pem(name, key.to_pem(), chain.full_pem());
}

util::Result<void> TlsService::install_pem(const std::string& name, const std::string& key_pem,
                                           const std::string& fullchain_pem) {
  tls::CertMaterial m;
  m.key_pem = key_pem;
  m.chain_pem = fullchain_pem;
  m.key_source = name + " (renewed key)";
  m.chain_source = name + " (renewed chain)";
  return registry_->put(name, m, util::SystemClock::instance().now());
}

util::Result<void> run_serve(const ServeOptions& options, std::ostream& out) {
  util::install_cancel_signal_handlers();
  CERTPILOT_TRY(auto svc, TlsService::start(options, out), "serve");
  std::string ports;
  for (auto p : svc->ports()) {
    ports += (ports.empty() ? "" : ", ") + std::to_string(p);
  }
  out << "serving on port " << ports << (options.backend.empty() ? " (built-in responder)" : " -> " + options.backend)
      << std::endl;
  while (util::sleep_cancellable(std::chrono::seconds(1))) {
  }
  svc->stop();
  return util::ok();
}

}  // namespace certpilot::agent
