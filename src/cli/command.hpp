#pragma once
// Each subcommand lives in its own cli/<name>_cmd.cpp and registers itself here, so adding one
// touches no shared file. Registration runs at static-initialisation time of this executable.
#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

#include "util/result.hpp"

namespace certpilot::cli {

// Exit codes (documented in README "Exit codes"):
enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,       // the operation failed (CA problem, DNS failure, network)
  kExitUsage = 2,         // bad arguments or configuration: fix the input
  kExitIo = 3,            // local files: not writable, unreadable
  kExitNetwork = 4,       // CA, DNS server or backend unreachable; TLS verification failed
  kExitCaRefused = 5,     // the CA refused: problem document (unauthorized, rejectedIdentifier, ...)
  kExitRateLimited = 6,   // rate limited: retry after the time printed
  kExitConflict = 7,      // another certpilot holds the lock
  kExitCancelled = 130,   // SIGINT/SIGTERM
};

struct Command {
  std::string name;
  // Adds the subcommand and its options to app; returns the function to run when it was chosen.
  std::function<std::function<int()>(CLI::App& app)> setup;
};

std::vector<Command>& commands();

struct CommandRegistrar {
  explicit CommandRegistrar(Command c) { commands().push_back(std::move(c)); }
};

}  // namespace certpilot::cli

#define CERTPILOT_REGISTER_COMMAND(name, setup_fn) \
  static const ::certpilot::cli::CommandRegistrar CERTPILOT_CONCAT(cp_cmd_, __LINE__){{name, setup_fn}}
