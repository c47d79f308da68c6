#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "agent/config.hpp"
#include "cli/command.hpp"
#include "cli/common.hpp"
#include "store/store.hpp"
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

int run(const StatusFlags& f) {
  auto config = agent::load_config(f.config);
  if (!config) return report_error("status", config.error());
  store::StoreOptions store_options;
  store_options.root = config->storage.dir;
  auto store = store::Store::open(store_options);
  if (!store) return report_error("status", store.error().wrapped("storage " + config->storage.dir));
  nlohmann::json out = nlohmann::json::array();
  int failing = 0;
  for (const auto& cert : config->certificates) {
    auto meta = store->read_meta(cert.name);
    nlohmann::json row = {{"name", cert.name}, {"domains", cert.domains}};
    if (!meta) {
      row["error"] = meta.error().message;
    } else if (*meta) {
      const auto& m = **meta;
      row["serial"] = m.serial;
      row["not_after"] = time_or(m.not_after, "");
      row["next_check"] = time_or(m.next_check, "");
      row["renew_at"] = time_or(m.renew_at, "");
      row["failures"] = m.failure_count;
      row["last_error"] = m.last_error;
      if (m.failure_count > 0) ++failing;
    }
    out.push_back(row);
  }
  if (f.json) {
    std::cout << out.dump(2) << "\n";
  } else {
    for (const auto& r : out) {
      std::cout << r["name"].get<std::string>() << "\n";
      std::string domains;
      for (const auto& d : r["domains"]) domains += (domains.empty() ? "" : ", ") + d.get<std::string>();
      std::cout << "  domains:    " << domains << "\n";
      if (!r.contains("serial") || r["serial"].get<std::string>().empty()) {
        std::cout << "  state:      not issued yet\n";
      } else {
        std::cout << "  serial:     " << r["serial"].get<std::string>() << "\n"
                  << "  not after:  " << r["not_after"].get<std::string>() << "\n"
                  << "  renew at:   " << r["renew_at"].get<std::string>() << "\n";
      }
      if (r.contains("next_check")) std::cout << "  next check: " << r["next_check"].get<std::string>() << "\n";
      if (r.contains("failures") && r["failures"].get<int>() > 0) {
        std::cout << "  failures:   " << r["failures"].get<int>() << "\n"
                  << "  last error: " << r["last_error"].get<std::string>() << "\n";
      }
      if (r.contains("error")) std::cout << "  error:      " << r["error"].get<std::string>() << "\n";
    }
  }
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
