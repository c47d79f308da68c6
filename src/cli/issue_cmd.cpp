#include <iostream>
#include <memory>

#include "agent/ca_session.hpp"
#include "agent/issue.hpp"
#include "cli/ca_options.hpp"
#include "cli/command.hpp"
#include "cli/common.hpp"
#include "util/cancel.hpp"
#include "util/time.hpp"

namespace certpilot::cli {
namespace {

struct IssueFlags {
  std::vector<std::string> domains;
  std::string key_type = "ec256";
  std::string out_dir;
  std::string name;
  CaFlags ca;
  DnsFlags dns;
};

int run(const IssueFlags& f) {
  agent::IssueOptions options;
  options.domains = f.domains;
  auto key_type = crypto::parse_key_type(f.key_type);
  if (!key_type) return report_error("issue", key_type.error().wrapped("--key-type"));
  options.key_type = *key_type;
  options.out_dir = f.out_dir;
  options.cert_name = f.name;
  options.state_dir = f.ca.state_dir;
  auto ca = to_settings(f.ca);
  if (!ca) return report_error("issue", ca.error());
  if (auto r = check_ca_flags(f.ca); !r) return report_error("issue", r.error());
  options.ca = std::move(*ca);
  auto dns = to_settings(f.dns);
  if (!dns) return report_error("issue", dns.error());
  options.dns = std::move(*dns);
  util::install_cancel_signal_handlers();
  auto outcome = agent::run_issue(options);
  if (!outcome) {
    // An account deactivated outside certpilot: say where it is stored and how to get a new one.
    return report_error("issue", agent::explain_deactivated_account(outcome.error(), options.ca, options.state_dir));
  }
  const auto& leaf = outcome->chain.leaf();
  std::cout << "certificate for " << util::join(outcome->names, ", ") << " written to " << outcome->written_to << "\n"
            << "  subject:   " << leaf.subject() << "\n"
            << "  issuer:    " << leaf.issuer() << "\n"
            << "  serial:    " << leaf.serial_hex() << "\n"
            << "  not after: " << util::format_rfc3339(leaf.not_after()) << "\n";
  return kExitOk;
}

std::function<int()> setup(CLI::App& app) {
  auto flags = std::make_shared<IssueFlags>();
  auto* cmd = app.add_subcommand("issue", "Obtain a certificate through DNS-01 and write it");
  cmd->add_option("-d,--domain", flags->domains, "Name for the certificate (repeatable; '*.example.com' for a wildcard)")
      ->required();
  cmd->add_option("--key-type", flags->key_type, "ec256, ec384, rsa2048, rsa3072 or rsa4096")->capture_default_str();
  cmd->add_option("--out", flags->out_dir, "Folder to write key.pem, cert.pem, chain.pem, fullchain.pem into");
  cmd->add_option("--name", flags->name, "Save in the store (--state) under this certificate name instead of --out");
  add_ca_flags(*cmd, flags->ca, true);
  add_dns_flags(*cmd, flags->dns);
  return [flags] { return run(*flags); };
}

}  // namespace
}  // namespace certpilot::cli

CERTPILOT_REGISTER_COMMAND("issue", certpilot::cli::setup);
