#include <iostream>
#include <memory>

#include "agent/config.hpp"
#include "agent/renewal.hpp"
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
  auto config = agent::load_config(f.config);
  if (!config) return report_error("renew", config.error());
  store::StoreOptions store_options;
  store_options.root = config->storage.dir;
  store_options.archive_keep = config->storage.archive_keep;
  auto store = store::Store::open(store_options);
  if (!store) return report_error("renew", store.error().wrapped("storage " + config->storage.dir));
  for (const auto& n : f.names) {
    if (config->find_certificate(n) == nullptr) {
      return report_error("renew", {util::Errc::invalid_input, "--name " + n + " is not a certificate in " + f.config});
    }
  }
  util::install_cancel_signal_handlers();
  agent::RenewEnv env;
  env.config = &*config;
  env.store = &*store;
  env.force = f.force;
  int failed = 0;
  util::Error last;
  for (const auto& cert : config->certificates) {
    if (!f.names.empty() && std::find(f.names.begin(), f.names.end(), cert.name) == f.names.end()) continue;
    if (util::cancel_requested()) break;
    const auto r = agent::renew_one(cert, env);
    std::cout << cert.name << ": " << agent::to_string(r.status) << ": " << r.message
              << " (next check " << util::format_rfc3339(r.next_check) << ")\n";
    if (r.status == agent::RenewStatus::failed || r.status == agent::RenewStatus::busy) {
      ++failed;
      if (r.error) last = *r.error;
    }
  }
  if (util::cancel_requested()) return kExitCancelled;
  if (failed > 0) {
    std::cerr << "certpilot renew: " << failed << " certificate(s) not renewed; see above\n";
    return exit_code_for(last);
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
