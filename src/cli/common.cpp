#include "cli/common.hpp"

#include <unistd.h>

#include <iostream>
#include <string>

#include "cli/command.hpp"
#include "util/log.hpp"

namespace certpilot::cli {

void add_global_options(CLI::App& app, GlobalOptions& options) {
  app.add_option("--log-level", options.log_level, "debug, info, warn, error or off")
      ->capture_default_str()
      ->check(CLI::IsMember({"debug", "info", "warn", "warning", "error", "off", "quiet"}));
  app.add_flag("--log-json", options.log_json, "Log one JSON object per line");
}

void apply_global_options(const GlobalOptions& options) {
  util::LogConfig config;
  bool ok = true;
  config.level = util::parse_log_level(options.log_level, &ok);
  config.json = options.log_json;
  // Under systemd, journald stamps lines itself; on a terminal, show times.
  config.timestamps = ::getenv("JOURNAL_STREAM") == nullptr && ::isatty(STDERR_FILENO);
  util::configure_logging(config);
}

int exit_code_for(const util::Error& error) {
  using util::Errc;
  switch (error.code) {
    case Errc::invalid_input: return kExitUsage;
    case Errc::io: return kExitIo;
    case Errc::network:
    case Errc::tls: return kExitNetwork;
    case Errc::acme_problem:
    case Errc::unauthorized:
    case Errc::bad_nonce: return kExitCaRefused;
    case Errc::rate_limited: return kExitRateLimited;
    case Errc::conflict: return kExitConflict;
    case Errc::cancelled: return kExitCancelled;
    case Errc::not_found:
    case Errc::dns:
    case Errc::timeout:
    case Errc::internal: return kExitFailure;
  }
  return kExitFailure;
}

int report_error(std::string_view command, const util::Error& error) {
  // The agent names the command in its context too ("serve: listen on ..."): say it once.
  std::string text = error.describe();
  const std::string prefix = std::string(command) + ": ";
  while (text.rfind(prefix, 0) == 0) text.erase(0, prefix.size());
  std::cerr << "certpilot " << command << ": error: " << text;
  if (error.retry_after) {
    std::cerr << " (retry after " << error.retry_after->count() << "s)";
  }
  std::cerr << "\n";
  return exit_code_for(error);
}

}  // namespace certpilot::cli
