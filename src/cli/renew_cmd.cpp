#include <iostream>
#include <memory>

#include "agent/managed.hpp"
#include "cli/command.hpp"
#include "cli/common.hpp"
#include "util/cancel.hpp"
#include "util/time.hpp"

namespace certpilot::cli {
namespace {

struct RenewFlags {
  std::string config = "/etc/certpilot/config.toml";
  std::vector<std::string> names;
  bool force = false;
};

int run(const RenewFlags& f) {
  int exit_code = kExitOk;
  const auto config = load_config_or_report("renew", f.config, exit_code);
  if (!config) return exit_code;
  util::install_cancel_signal_handlers();
  auto results = agent::renew_all(*config, f.names, f.force, [](const agent::RenewResult& r) {
    std::cout << r.name << ": " << agent::to_string(r.status) << ": " << r.message << " (next check "
              << util::format_rfc3339(r.next_check) << ")\n";
  });
  if (!results) return report_error("renew", results.error());
  if (util::cancel_requested()) return kExitCancelled;
  int failed = 0;
  int hooks_failed = 0;
  util::Error last;
  for (const auto& r : *results) {
    if (r.status == agent::RenewStatus::failed || r.status == agent::RenewStatus::busy) {
      ++failed;
      if (r.error) last = *r.error;
    } else if (r.status == agent::RenewStatus::issued && r.error) {
      ++hooks_failed;  // saved, but the service using it was not told: a timer must not report success
    }
  }
  if (failed > 0) {
    std::cerr << "certpilot renew: " << failed << " certificate(s) not renewed; see above\n";
    return exit_code_for(last);
  }
  if (hooks_failed > 0) {
    std::cerr << "certpilot renew: " << hooks_failed
              << " certificate(s) renewed and saved, but their deploy hook failed; see above\n";
    return kExitFailure;
  }
  return kExitOk;
}

std::function<int()> setup(CLI::App& app) {
  auto flags = std::make_shared<RenewFlags>();
  auto* cmd = app.add_subcommand("renew", "Renew the configured certificates that are due, then exit (for timers)");
  cmd->add_option("-c,--config", flags->config, "Config file (TOML)")->capture_default_str();
  cmd->add_option("--name", flags->names, "Only this certificate (repeatable)");
  cmd->add_flag("--force", flags->force, "Renew even if not due (mind the CA's rate limits)");
  return [flags] { return run(*flags); };
}

}  // namespace
}  // namespace certpilot::cli

CERTPILOT_REGISTER_COMMAND("renew", certpilot::cli::setup);
