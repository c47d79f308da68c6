// certpilot check-config --config FILE: validates a configuration file and names the line of each
// error, so a typo is caught before the daemon reloads it.
#include <fstream>
#include <iostream>
#include <sstream>

#include "agent/config.hpp"
#include "cli/command.hpp"
#include "cli/common.hpp"

namespace {

using namespace certpilot;

struct Options {
  std::string config = "/etc/certpilot/config.toml";
};

int run(const Options& opts) {
  std::ifstream in(opts.config, std::ios::binary);
  if (!in) {
    return cli::report_error("check-config",
                             util::Error(util::Errc::io, "reading config " + opts.config + ": cannot open the file"));
  }
  std::ostringstream text;
  text << in.rdbuf();
  const auto check = agent::check_config_text(text.str(), opts.config);
  if (!check.config) {
    for (const auto& issue : check.issues) std::cerr << agent::format_issue(opts.config, issue) << "\n";
    std::cerr << "certpilot check-config: " << check.issues.size()
              << (check.issues.size() == 1 ? " error" : " errors") << " in " << opts.config << "\n";
    return cli::kExitUsage;
  }
  const auto& c = *check.config;
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
