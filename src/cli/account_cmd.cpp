#include <iostream>
#include <memory>

#include "agent/account_ops.hpp"
#include "agent/ca_session.hpp"
#include "cli/ca_options.hpp"
#include "cli/command.hpp"
#include "cli/common.hpp"

namespace certpilot::cli {
namespace {

struct AccountFlags {
  CaFlags ca;
  bool yes = false;
};

void print(const agent::AccountReport& r) {
  std::cout << "account:    " << r.url << "\n"
            << "status:     " << r.status << "\n"
            << "contact:    " << (r.contact.empty() ? std::string("(none)") : util::join(r.contact, ", ")) << "\n"
            << "key:        thumbprint " << r.key_thumbprint << "\n"
            << "stored in:  " << r.stored_in << "\n";
  if (!r.note.empty()) std::cout << "note:       " << r.note << "\n";
}

int run(const std::string& action, const AccountFlags& f) {
  auto ca = to_settings(f.ca);
  if (!ca) return report_error("account " + action, ca.error());
  if (auto r = check_ca_flags(f.ca); !r) return report_error("account " + action, r.error());
  util::Result<agent::AccountReport> r = util::fail(util::Errc::internal, "unknown action");
  if (action == "show") {
    r = agent::show_account(*ca, f.ca.state_dir);
  } else if (action == "rollover") {
    r = agent::rollover_account_key(*ca, f.ca.state_dir);
  } else {
    if (!f.yes) {
      return report_error("account deactivate",
                          {util::Errc::invalid_input, "deactivation cannot be undone; pass --yes to confirm"});
    }
    r = agent::deactivate_account(*ca, f.ca.state_dir);
  }
  if (!r) {
    return report_error("account " + action, agent::explain_deactivated_account(r.error(), *ca, f.ca.state_dir));
  }
  print(*r);
  return kExitOk;
}

std::function<int()> setup(CLI::App& app) {
  auto* cmd = app.add_subcommand("account", "Show, re-key or deactivate the ACME account kept in --state");
  cmd->require_subcommand(1);
  std::vector<std::pair<CLI::App*, std::string>> subs;
  auto flags = std::make_shared<AccountFlags>();
  for (const auto& [name, help] : {std::pair{"show", "Print the account as the CA sees it"},
                                   std::pair{"rollover", "Replace the account key (RFC 8555 §7.3.5)"},
                                   std::pair{"deactivate", "Deactivate the account for good"}}) {
    auto* sub = cmd->add_subcommand(name, help);
    add_ca_flags(*sub, flags->ca, false);
    if (std::string(name) == "deactivate") sub->add_flag("--yes", flags->yes, "Confirm: it cannot be undone");
    subs.emplace_back(sub, name);
  }
  return [flags, subs] {
    for (const auto& [sub, name] : subs) {
      if (sub->parsed()) return run(name, *flags);
    }
    return static_cast<int>(kExitUsage);
  };
}

}  // namespace
}  // namespace certpilot::cli

CERTPILOT_REGISTER_COMMAND("account", certpilot::cli::setup);
