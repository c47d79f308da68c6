// `certpilot renew-job`: internal, run by `certpilot run` for each renewal (agent/job_process.hpp).
// Reads the daemon's config on stdin, renews one certificate, prints the result as one JSON line.
#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>
#include <iostream>
#include <iterator>
#include <memory>

#include "agent/job_process.hpp"
#include "cli/command.hpp"
#include "util/cancel.hpp"

namespace certpilot::cli {
namespace {

struct JobFlags {
  std::string name;
  std::string config_path;
};

int run(const JobFlags& f) {
  // The daemon may die without stopping us (kill -9): then stop too, cleaning up as on SIGTERM.
  const pid_t parent = ::getppid();
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  util::install_cancel_signal_handlers();
  if (::getppid() != parent) util::request_cancel();  // it died before prctl took effect
  const std::string text{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
  std::cout << agent::renew_result_to_json(agent::run_renew_job(text, f.config_path, f.name)) << std::endl;
  return kExitOk;
}

std::function<int()> setup(CLI::App& app) {
  auto flags = std::make_shared<JobFlags>();
  auto* cmd = app.add_subcommand("renew-job", "Internal: one renewal for 'certpilot run' (config on stdin)");
  cmd->group("");  // not listed in --help: operators use renew or run
  cmd->add_option("--name", flags->name, "Certificate name")->required();
  cmd->add_option("--config-path", flags->config_path, "Where the config came from (for messages)");
  return [flags] { return run(*flags); };
}

}  // namespace
}  // namespace certpilot::cli

CERTPILOT_REGISTER_COMMAND("renew-job", certpilot::cli::setup);
