#include <algorithm>
#include <iostream>

#include "cli/command.hpp"
#include "cli/common.hpp"

namespace certpilot::cli {

std::vector<Command>& commands() {
  static std::vector<Command> all;
  return all;
}

}  // namespace certpilot::cli

int main(int argc, char** argv) {
  using namespace certpilot::cli;
  CLI::App app{"certpilot: ACME certificates over DNS-01, renewed and served in one process"};
  app.set_version_flag("--version", std::string("certpilot ") + CERTPILOT_VERSION);
  app.require_subcommand(1);
  // Subcommands created below inherit this: `certpilot issue ... --log-level debug` reaches the
  // global option, as the README writes it.
  app.fallthrough();
  GlobalOptions globals;
  add_global_options(app, globals);
  auto& cmds = commands();
  std::sort(cmds.begin(), cmds.end(), [](const Command& a, const Command& b) { return a.name < b.name; });
  std::vector<std::pair<CLI::App*, std::function<int()>>> runners;
  for (auto& c : cmds) {
    auto run = c.setup(app);
    runners.emplace_back(app.get_subcommand(c.name), std::move(run));
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 checks required options and subcommands before it looks at leftovers, so
    // `certpilot --bogus` or `certpilot isue` would be told "A subcommand is required":
    // name what it did not understand instead, which is the actual mistake.
    if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr) {
      const auto unknown = app.remaining(true);
      if (!unknown.empty()) {
        std::cerr << "certpilot: unknown " << (unknown.front().rfind('-', 0) == 0 ? "option" : "command or argument")
                  << " '" << unknown.front() << "'; see 'certpilot --help'\n";
        return kExitUsage;
      }
    }
    const int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }
  apply_global_options(globals);
  for (auto& [sub, run] : runners) {
    if (sub != nullptr && sub->parsed()) return run();
  }
  std::cerr << "certpilot: no command given; see 'certpilot --help'\n";
  return kExitUsage;
}
