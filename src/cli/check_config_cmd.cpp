// certpilot check-config --config FILE: validates a configuration file and names the line of each
// error, so a typo is caught before the daemon reloads it.
#include <iostream>

#include "agent/config.hpp"
#include "cli/command.hpp"
#include "cli/common.hpp"

namespace {

using namespace certpilot;

struct Options {
  std::string config = "/etc/certpilot/config.toml";
};

int run(const Options& opts) {
  const auto text = cli::read_config_file(opts.config);
  if (!text) return cli::report_error("check-config", text.error());
  const auto check = agent::check_config_text(*text, opts.config);
  if (!check.config) {
    std::vector<std::string> lines;
    for (const auto& issue : check.issues) lines.push_back(agent::format_issue(opts.config, issue));
    cli::report_config_issues("check-config", opts.config, lines);
    return cli::kExitUsage;
  }
  const auto& c = *check.config;
  for (const auto& w : c.warnings) std::cerr << "certpilot check-config: warning: " << w << "\n";
  std::string names;
  for (const auto& cert : c.certificates) names += (names.empty() ? "" : ", ") + cert.name;
  std::cout << opts.config << ": ok: CA " << c.ca.directory << ", " << c.certificates.size() << " certificate(s)"
            << (names.empty() ? "" : " (" + names + ")") << ", " << c.dns.size() << " DNS setup(s), listener "
            << (c.listener.enabled ? "enabled" : "disabled") << "\n";
  return cli::kExitOk;
}

std::function<int()> setup(CLI::App& app) {
  auto opts = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("check-config", "Validate a configuration file and list every error with its line");
  cmd->add_option("--config,-c", opts->config, "The configuration file")->capture_default_str();
  return [opts] { return run(*opts); };
}

}  // namespace

CERTPILOT_REGISTER_COMMAND("check-config", setup);
