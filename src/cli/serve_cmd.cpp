#include <iostream>
#include <memory>

#include "agent/serve.hpp"
#include "cli/command.hpp"
#include "cli/common.hpp"

namespace certpilot::cli {
namespace {

struct ServeFlags {
  agent::ServeOptions options;
  long handshake_timeout = 10;
  long idle_timeout = 120;
  // Signed, so "-1" is seen and refused rather than wrapped to 2^64-1 by an unsigned parse.
  long long max_connections = 100000;
  bool no_tickets = false;
  bool no_cache = false;
};

std::function<int()> setup(CLI::App& app) {
  auto f = std::make_shared<ServeFlags>();
  auto& o = f->options;
  auto* cmd = app.add_subcommand("serve", "Serve certificates over TLS: a TLS-terminating proxy or a built-in page");
  cmd->add_option("--certs", o.cert_dirs,
                  "Certificate folder (key.pem + fullchain.pem, as `issue --out` writes it) or a store; repeatable. "
                  "Reloaded when the files change");
  cmd->add_option("--listen", o.listen, "Address to listen on (host:port, [v6]:port); repeatable")->capture_default_str();
  cmd->add_option("--backend", o.backend, "Forward decrypted bytes to host:port (default: answer with a page naming "
                                          "the certificate)");
  cmd->add_flag("--proxy-protocol", o.proxy_protocol, "Send a PROXY protocol v2 header to the backend");
  cmd->add_flag("--self-signed", o.self_signed, "Issue certificates for -d names from a local development CA");
  cmd->add_option("-d,--domain", o.self_signed_names, "Name for --self-signed (repeatable)");
  cmd->add_option("--state", o.state_dir, "State folder (the local CA lives in <state>/local-ca)")->capture_default_str()->check(kNonEmptyFolder);
  cmd->add_flag("--plaintext", o.plaintext, "Serve WITHOUT TLS (local development only; loopback addresses only)");
  cmd->add_flag("--force-plaintext-public", o.force_plaintext_public, "Allow --plaintext on non-loopback addresses");
  cmd->add_option("--default-name", o.default_name, "Certificate name for clients without SNI or with an unknown name "
                                                    "(default: the first certificate)");
  cmd->add_flag("--strict-sni", o.strict_sni, "Refuse clients whose SNI matches no certificate");
  cmd->add_option("--threads", o.threads, "Event loops (default: one per core)")->check(CLI::Range(1, 1024));
  cmd->add_option("--max-connections", f->max_connections, "Open connections at most")->capture_default_str();
  cmd->add_option("--handshake-timeout", f->handshake_timeout, "Seconds")->capture_default_str();
  cmd->add_option("--idle-timeout", f->idle_timeout, "Seconds")->capture_default_str();
  cmd->add_option("--client-ca", o.client_ca_file, "Require client certificates issued by these CAs (PEM bundle)");
  cmd->add_flag("--client-cert-optional", o.client_cert_optional, "With --client-ca: ask for, but do not require, one");
  cmd->add_flag("--no-session-tickets", f->no_tickets, "Resume sessions from the server-side cache only");
  cmd->add_flag("--no-session-cache", f->no_cache, "No server-side session cache (with --no-session-tickets: no "
                                                   "resumption at all, e.g. to benchmark full handshakes)");
  return [f] {
    if (f->max_connections < 1) {
      return report_error("serve", {util::Errc::invalid_input, "--max-connections " +
                                                                   std::to_string(f->max_connections) +
                                                                   ": give a number of at least 1 (default 100000)"});
    }
    f->options.max_connections = static_cast<std::size_t>(f->max_connections);
    f->options.handshake_timeout = std::chrono::seconds(f->handshake_timeout);
    f->options.idle_timeout = std::chrono::seconds(f->idle_timeout);
    f->options.session_tickets = !f->no_tickets;
    f->options.session_cache = !f->no_cache;
    auto r = agent::run_serve(f->options, std::cout);
    if (!r) {
      return report_error("serve", r.error());
    }
    return static_cast<int>(kExitOk);
  };
}

}  // namespace
}  // namespace certpilot::cli

CERTPILOT_REGISTER_COMMAND("serve", certpilot::cli::setup);
