#include <iostream>

#include "cli/command.hpp"

namespace {

std::function<int()> setup(CLI::App& app) {
  app.add_subcommand("version", "Print the version and the libraries certpilot was built with");
  return [] {
    std::cout << "certpilot " << CERTPILOT_VERSION << "\n";
    return 0;
  };
}

}  // namespace

CERTPILOT_REGISTER_COMMAND("version", setup);
