#include <memory>

#include "agent/daemon.hpp"
#include "cli/command.hpp"
#include "cli/common.hpp"

namespace certpilot::cli {
namespace {

std::function<int()> setup(CLI::App& app) {
  auto config = std::make_shared<std::string>("/etc/certpilot/config.toml");
  auto* cmd = app.add_subcommand("run", "Keep every configured certificate renewed (the daemon)");
  cmd->add_option("-c,--config", *config, "Config file (TOML)")->capture_default_str();
  return [config] {
    agent::DaemonOptions options;
    options.config_path = *config;
    auto r = agent::run_daemon(options);
    if (!r) return report_error("run", r.error());
    return static_cast<int>(kExitOk);
  };
}

}  // namespace
}  // namespace certpilot::cli

CERTPILOT_REGISTER_COMMAND("run", certpilot::cli::setup);
