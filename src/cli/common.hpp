#pragma once
// Options every subcommand shares, and the mapping from an Error to a one-line report + exit code.
#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

#include "agent/config.hpp"
#include "cli/ca_options.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"

namespace certpilot::cli {

struct GlobalOptions {
  std::string log_level = "info";
  bool log_json = false;
};

void add_global_options(CLI::App& app, GlobalOptions& options);
void apply_global_options(const GlobalOptions& options);

// Prints "certpilot <command>: error: <message>" (plus a "hint:" line where one helps) to stderr
// and returns the exit code for the error's kind.
int report_error(std::string_view command, const util::Error& error);
int exit_code_for(const util::Error& error);

// What to_settings(CaFlags) leaves to the first connection, checked before it: the --ca-bundle
// file's content (Errc::invalid_input unless it holds a PEM certificate, Errc::io when unreadable)
// and --email written as a mailto: URI (Errc::invalid_input). Each message names its flag.
util::Result<void> check_ca_flags(const CaFlags& flags);

// The --config FILE every config-reading command takes (check-config, status, run, renew).
// Errc::io naming --config and the path when it is missing, a folder, or unreadable.
util::Result<std::string> read_config_file(const std::string& path);

// One line per problem ("file:line:column: message", as check-config prints them) to stderr, then
// "certpilot <command>: N error(s) in <file>".
void report_config_issues(std::string_view command, const std::string& path, const std::vector<std::string>& lines);

// read_config_file + agent::parse_config. On failure everything is already printed (above, or
// report_error) and `exit_code` holds the code to return (2 for a config with errors, 3 for files).
std::optional<agent::Config> load_config_or_report(std::string_view command, const std::string& path, int& exit_code);

}  // namespace certpilot::cli
