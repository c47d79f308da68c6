#include <memory>

#include "agent/daemon.hpp"
#include "cli/command.hpp"
#include "cli/common.hpp"
#include "util/log.hpp"

namespace certpilot::cli {
namespace {

std::function<int()> setup(CLI::App& app) {
  auto config = std::make_shared<std::string>("/etc/certpilot/config.toml");
  auto* cmd = app.add_subcommand("run", "Keep every configured certificate renewed (the daemon)");
  cmd->add_option("-c,--config", *config, "Config file (TOML)")->capture_default_str();
  return [config] {
    // The daemon loads the file itself (and again on SIGHUP); checked here first so that a broken
    // config is reported one problem per line, as check-config does, not as one long line.
    int exit_code = kExitOk;
    if (!load_config_or_report("run", *config, exit_code)) return exit_code;
    agent::DaemonOptions options;
    options.config_path = *config;
    // Renewals run in `certpilot renew-job` children of this same binary, logging as we do.
    agent::JobCommand job;
    job.argv_prefix = {"/proc/self/exe", "--log-level", std::string(util::to_string(util::logging_config().level))};
    if (util::logging_config().json) job.argv_prefix.emplace_back("--log-json");
    options.job_command = std::move(job);
    auto r = agent::run_daemon(options);
    if (!r) return report_error("run", r.error());
    return static_cast<int>(kExitOk);
  };
}

}  // namespace
}  // namespace certpilot::cli

CERTPILOT_REGISTER_COMMAND("run", certpilot::cli::setup);
