#pragma once
// Test-only process runner: integration tests run the built `certpilot` binary and helper CLIs
// (curl, dig, the pebble/ scripts) through this. Test code may throw; failures to even start a
// program throw std::runtime_error, a non-zero exit is returned for the test to assert on.
#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace certpilot::test {

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal (see signal) or timed out
  int signal = 0;
  bool timed_out = false;
  std::string out;
  std::string err;
};

// Runs argv (argv[0] searched in PATH, no shell) with `env` added to (overriding) the inherited
// environment. The child gets its own process group, killed on timeout. Thread-safe (no shared
// state). Throws std::runtime_error only if the program cannot be started.
CommandResult run_command(const std::vector<std::string>& argv,
                          const std::map<std::string, std::string>& env = {},
                          std::chrono::milliseconds timeout = std::chrono::seconds(120),
                          const std::string& stdin_data = {});

// "exit 1 (timed out): <argv...>\n--- stderr\n..." for a failed assertion's message.
std::string describe(const std::vector<std::string>& argv, const CommandResult& r);

// Path of the built `certpilot` binary (CMake's CERTPILOT_BINARY) and of the source tree.
std::filesystem::path certpilot_binary();
std::filesystem::path source_dir();

// True while `pid` exists and is not a zombie: a server whose parent script has exited is reaped by
// init some time after it dies, and kill(pid, 0) still succeeds on the zombie until then.
bool process_running(int pid);

}  // namespace certpilot::test
