#pragma once
// Runs a program without a shell (argv as given), feeds stdin, captures stdout/stderr, enforces a
// timeout (SIGTERM, then SIGKILL after a grace period). Used by the exec DNS provider and hooks.
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "util/result.hpp"

namespace certpilot::util {

struct ProcessOptions {
  std::vector<std::string> argv;                 // argv[0] is the program (PATH is searched)
  std::map<std::string, std::string> env_extra;  // added to (overriding) the inherited environment
  std::string stdin_data;
  std::chrono::milliseconds timeout{std::chrono::seconds(120)};
  std::size_t max_output = 1 << 20;  // per stream; the rest is discarded
};

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  bool timed_out = false;
  std::string out;
  std::string err;
};

// Fails only when the program could not be started (not found, not executable); a non-zero exit
// is reported in ProcessResult for the caller to judge.
Result<ProcessResult> run_process(const ProcessOptions& options);

}  // namespace certpilot::util
