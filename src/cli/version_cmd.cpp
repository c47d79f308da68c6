#include <iostream>

#include "agent/versions.hpp"
#include "cli/command.hpp"

namespace {

std::function<int()> setup(CLI::App& app) {
  app.add_subcommand("version", "Print the version and the libraries loaded at run time (for bug reports)");
  return [] {
    std::cout << "certpilot " << CERTPILOT_VERSION << "\n";
    for (const auto& library : certpilot::agent::library_versions()) std::cout << "  " << library << "\n";
    return 0;
  };
}

}  // namespace

CERTPILOT_REGISTER_COMMAND("version", setup);
