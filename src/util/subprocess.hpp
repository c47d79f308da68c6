#pragma once
// Runs a program without a shell (argv as given), feeds stdin, captures stdout/stderr, enforces a
// timeout (SIGTERM, then SIGKILL after a grace period). Used by the exec DNS provider and hooks.
#include <chrono>
#include <functional>
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
  // The child writes straight to our stderr (ProcessResult::err stays empty): a daemon's job logs
  // reach the journal as they happen, not when the job ends.
  bool inherit_stderr = false;
  // Polled (every 100 ms at most) while the child runs; once it returns true the child's process
  // group gets SIGTERM, then SIGKILL after stop_grace: time to clean up (DNS records) and exit.
  std::function<bool()> should_stop;
  std::chrono::milliseconds stop_grace{std::chrono::seconds(8)};
};

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  bool timed_out = false;
  bool stopped = false;  // should_stop asked for it
  std::string out;
  std::string err;
};

// Fails only when the program could not be started (not found, not executable); a non-zero exit
// is reported in ProcessResult for the caller to judge.
Result<ProcessResult> run_process(const ProcessOptions& options);

}  // namespace certpilot::util
