#pragma once
// Options every subcommand shares, and the mapping from an Error to a one-line report + exit code.
#include <CLI/CLI.hpp>

#include <string>

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

}  // namespace certpilot::cli
