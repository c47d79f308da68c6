#include "agent/serve.hpp"

#include <fstream>
#include <ostream>
#include <sstream>

#include "agent/cert_source.hpp"
#include "tls/local_ca.hpp"
#include "util/cancel.hpp"
#include "util/log.hpp"

namespace certpilot::agent {

using util::Errc;
using util::fail;

namespace {

const util::Logger kLog("agent");

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
    s.client_ca_source = o.client_ca_file;
    s.client_auth = o.client_cert_optional ? tls::ClientAuth::optional : tls::ClientAuth::required;
  }
  return s;
}

util::Result<void> add_self_signed(const ServeOptions& o, tls::CertRegistry& registry, std::ostream& out) {
  if (o.self_signed_names.empty()) {
    return fail(Errc::invalid_input, "--self-signed needs at least one -d NAME");
  }
  const auto dir = std::filesystem::path(o.state_dir) / "local-ca";
  bool created = false;
  const auto now = util::SystemClock::instance().now();
  CERTPILOT_TRY(auto ca, tls::LocalCa::open_or_create(dir, now, &created), "--self-signed");
  CERTPILOT_TRY(auto material, ca.issue(o.self_signed_names, now), "--self-signed");
  if (auto r = registry.put("self-signed", material, now); !r) {
    return fail(r.error().wrapped("--self-signed"));
  }
  const std::string ca_path = ca.cert_path().string();
  out << (created ? "Created a local development CA: " : "Using the local development CA: ") << ca_path << "\n"
      << "To trust it (development machines only: it can vouch for any name):\n"
      << "  curl:            curl --cacert " << ca_path << " https://" << o.self_signed_names.front() << "/\n"
      << "  Debian/Ubuntu:   sudo cp " << ca_path << " /usr/local/share/ca-certificates/certpilot-local-ca.crt"
      << " && sudo update-ca-certificates\n"
      << "  Firefox/Chrome:  certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n certpilot-local-ca -i " << ca_path << "\n";
  return util::ok();
}

}  // namespace

util::Result<std::unique_ptr<TlsService>> TlsService::start(const ServeOptions& o, std::ostream& out) {
  std::unique_ptr<TlsService> svc(new TlsService());
  if (o.plaintext) {
    if (auto r = check_plaintext(o, out); !r) {
      return fail(r.error());
    }
  } else if (o.cert_dirs.empty() && !o.self_signed && !o.in_process) {
    return fail(Errc::invalid_input, "nothing to serve: give --certs DIR, or --self-signed -d NAME, or --plaintext");
  }
  CERTPILOT_TRY(auto settings, make_settings(o), "serve");
  tls::SniOptions sni;
  sni.default_name = o.default_name;
  sni.default_to_first = !o.strict_sni && o.default_name.empty();
  svc->registry_ = std::make_unique<tls::CertRegistry>(svc->publisher_, settings, sni);
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
        return fail(loaded.error().wrapped("--certs"));
      }
    }
  }
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
