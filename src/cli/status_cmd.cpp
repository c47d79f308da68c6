#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "cli/common.hpp"
#include "agent/managed.hpp"
#include "util/time.hpp"

namespace certpilot::cli {
namespace {

struct StatusFlags {
  std::string config = "/etc/certpilot/config.toml";
  bool json = false;
};

std::string time_or(const std::optional<util::SysTime>& t, const char* none) {
  return t ? util::format_rfc3339(*t) : std::string(none);
}

nlohmann::json to_json(const agent::CertificateStatus& s) {
  nlohmann::json row = {{"name", s.name}, {"domains", s.domains}, {"serial", s.serial},
                        {"not_after", time_or(s.not_after, "")}, {"renew_at", time_or(s.renew_at, "")},
                        {"next_check", time_or(s.next_check, "")}, {"failures", s.failures},
                        {"last_error", s.last_error}};
  if (!s.read_error.empty()) row["error"] = s.read_error;
  return row;
}

void print(const agent::CertificateStatus& s) {
  std::cout << s.name << "\n  domains:    " << util::join(s.domains, ", ") << "\n";
  if (s.serial.empty()) {
    std::cout << "  state:      not issued yet\n";
  } else {
    std::cout << "  serial:     " << s.serial << "\n"
              << "  not after:  " << time_or(s.not_after, "?") << "\n"
              << "  renew at:   " << time_or(s.renew_at, "?") << "\n";
  }
  if (s.next_check) std::cout << "  next check: " << util::format_rfc3339(*s.next_check) << "\n";
  if (s.failures > 0) {
    std::cout << "  failures:   " << s.failures << "\n  last error: " << s.last_error << "\n";
  }
  if (!s.read_error.empty()) std::cout << "  error:      " << s.read_error << "\n";
}

int run(const StatusFlags& f) {
  int exit_code = kExitOk;
  const auto config = load_config_or_report("status", f.config, exit_code);
  if (!config) return exit_code;
  auto statuses = agent::certificate_status(*config);
  if (!statuses) return report_error("status", statuses.error());
  int failing = 0;
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : *statuses) {
    if (s.failures > 0 || !s.read_error.empty()) ++failing;
    if (f.json) {
      out.push_back(to_json(s));
    } else {
      print(s);
    }
  }
  if (f.json) std::cout << out.dump(2) << "\n";
  return failing > 0 ? kExitFailure : kExitOk;
}

std::function<int()> setup(CLI::App& app) {
  auto flags = std::make_shared<StatusFlags>();
  auto* cmd = app.add_subcommand("status", "Show each configured certificate: domains, expiry, next renewal, last error");
  cmd->add_option("-c,--config", flags->config, "Config file (TOML)")->capture_default_str();
  cmd->add_flag("--json", flags->json, "Print JSON");
  return [flags] { return run(*flags); };
}

}  // namespace
}  // namespace certpilot::cli

CERTPILOT_REGISTER_COMMAND("status", certpilot::cli::setup);
