#include <iostream>
#include <memory>

#include "agent/account_ops.hpp"
#include "cli/ca_options.hpp"
#include "cli/command.hpp"
#include "cli/common.hpp"

namespace certpilot::cli {
namespace {

struct RevokeFlags {
  std::string cert;
  std::string key;
  int reason = 0;
  CLI::Option* reason_given = nullptr;  // every int is a value the operator may have typed (-5 too)
  CaFlags ca;
};

int run(const RevokeFlags& f) {
  if (auto r = check_ca_flags(f.ca); !r) return report_error("revoke", r.error());
  agent::RevokeOptions options;
  options.cert_file = f.cert;
  options.key_file = f.key;
  if (f.reason_given != nullptr && f.reason_given->count() > 0) options.reason = f.reason;
  options.state_dir = f.ca.state_dir;
  auto ca = to_settings(f.ca);
  if (!ca) return report_error("revoke", ca.error());
  options.ca = std::move(*ca);
  auto serial = agent::revoke(options);
  if (!serial) return report_error("revoke", serial.error());
  std::cout << "revoked certificate " << *serial << "\n";
  return kExitOk;
}

std::function<int()> setup(CLI::App& app) {
  auto flags = std::make_shared<RevokeFlags>();
  auto* cmd = app.add_subcommand("revoke", "Revoke a certificate (signed by the account, or by the certificate's key)");
  cmd->add_option("--cert", flags->cert, "PEM file of the certificate (cert.pem or fullchain.pem)")->required();
  cmd->add_option("--key", flags->key, "Sign with this private key of the certificate instead of the account");
  flags->reason_given = cmd->add_option("--reason", flags->reason, "RFC 5280 reason code: 0 unspecified, 1 keyCompromise, 4 superseded, 5 cessationOfOperation");
  add_ca_flags(*cmd, flags->ca, false);
  return [flags] { return run(*flags); };
}

}  // namespace
}  // namespace certpilot::cli

CERTPILOT_REGISTER_COMMAND("revoke", certpilot::cli::setup);
