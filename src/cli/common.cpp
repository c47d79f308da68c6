#include "cli/common.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "agent/ca_session.hpp"
#include "cli/command.hpp"
#include "util/log.hpp"

namespace certpilot::cli {

void add_global_options(CLI::App& app, GlobalOptions& options) {
  app.add_option("--log-level", options.log_level, "debug, info, warn, error or off")
      ->capture_default_str()
      ->check(CLI::IsMember({"debug", "info", "warn", "warning", "error", "off", "quiet"}));
  app.add_flag("--log-json", options.log_json, "Log one JSON object per line");
}

namespace {

// journald stamps each line itself. JOURNAL_STREAM names the stream it handed us, so only when fd 2
// is that stream (a unit may send stderr to a file) are our own times redundant; everywhere else (a
// terminal, a file, cron's mail, a shipper reading --log-json) a line without a time is hard to use.
bool stderr_is_journal() {
  const char* stream = ::getenv("JOURNAL_STREAM");
  struct stat st {};
  if (stream == nullptr || ::fstat(STDERR_FILENO, &st) != 0) return false;
  return std::string(stream) == std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}

}  // namespace

void apply_global_options(const GlobalOptions& options) {
  util::LogConfig config;
  bool ok = true;
  config.level = util::parse_log_level(options.log_level, &ok);
  config.json = options.log_json;
  config.timestamps = !stderr_is_journal();
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
  if (util::logging_config().json) {
    // A log shipper reading --log-json gets the outcome as one more object, even at --log-level off.
    const int code = exit_code_for(error);
    if (error.retry_after) {
      util::write_log_line(util::LogLevel::error, "certpilot", text,
                           {{"command", command}, {"exit_code", code}, {"retry_after_s", error.retry_after->count()}});
    } else {
      util::write_log_line(util::LogLevel::error, "certpilot", text, {{"command", command}, {"exit_code", code}});
    }
    return code;
  }
  std::cerr << "certpilot " << command << ": error: " << text;
  if (error.retry_after) {
    std::cerr << " (retry after " << error.retry_after->count() << "s)";
  }
  std::cerr << "\n";
  return exit_code_for(error);
}

util::Result<void> check_ca_flags(const CaFlags& flags) {
  if (!flags.ca_bundle.empty()) {
    if (auto r = agent::check_ca_bundle(flags.ca_bundle); !r) return util::fail(r.error().wrapped("--ca-bundle"));
  }
  return agent::check_contact_emails(flags.emails);
}

util::Result<std::string> read_config_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto st = fs::status(path, ec);
  if (fs::is_directory(st)) {
    // ifstream opens a folder and reads nothing, which the parser would report as a config
    // missing its [ca] section.
    return util::fail(util::Errc::io, "--config " + path + " is a folder, not a config file; pass the file itself, e.g. "
                                      "--config " + (fs::path(path) / "config.toml").string());
  }
  if (!fs::exists(st)) {
    return util::fail(util::Errc::io, "--config " + path + ": no such file; pass the path of your config file "
                                      "(format: docs/config.md)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return util::fail(util::Errc::io, "--config " + path + ": cannot read: " + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return util::fail(util::Errc::io, "--config " + path + ": cannot read: " + std::strerror(errno));
  }
  return text.str();
}

void report_config_issues(std::string_view command, const std::string& path, const std::vector<std::string>& lines) {
  for (const auto& line : lines) std::cerr << line << "\n";
  std::cerr << "certpilot " << command << ": " << lines.size() << (lines.size() == 1 ? " error" : " errors") << " in "
            << path << "\n";
}

std::optional<agent::Config> load_config_or_report(std::string_view command, const std::string& path, int& exit_code) {
  auto text = read_config_file(path);
  if (!text) {
    exit_code = report_error(command, text.error());
    return std::nullopt;
  }
  auto config = agent::parse_config(*text, path);
  if (!config) {
    // parse_config puts one formatted issue per detail line; a bare error has none.
    if (config.error().details.empty()) {
      exit_code = report_error(command, config.error());
    } else {
      report_config_issues(command, path, config.error().details);
      exit_code = exit_code_for(config.error());
    }
    return std::nullopt;
  }
  exit_code = kExitOk;
  return std::move(*config);
}

}  // namespace certpilot::cli
