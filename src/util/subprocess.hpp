#pragma once
// Runs a program without a shell (argv as given), feeds stdin, captures stdout/stderr, enforces a
// timeout (SIGTERM, then SIGKILL after a grace period). Used by the exec DNS provider and hooks.
#include <signal.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace certpilot::util {

struct ProcessOptions {
  std::vector<std::string> argv;                 // argv[0] is the program (PATH is searched)
  std::map<std::string, std::string> env_extra;  // added to (overriding) the inherited environment
  std::string stdin_data;
  // Applies to the program itself: once it has exited, output still buffered is read for at most
  // 200 ms more, so a background process it left holding the pipes does not hold us too.
  std::chrono::milliseconds timeout{std::chrono::seconds(120)};
  std::size_t max_output = 1 << 20;  // per stream; the rest is discarded
  // The child writes straight to our stderr (ProcessResult::err stays empty): a daemon's job logs
  // reach the journal as they happen, not when the job ends.
  bool inherit_stderr = false;
  // Polled (every 100 ms at most) while the child runs; once it returns true the child's process
  // group gets SIGTERM, then SIGKILL after stop_grace: time to clean up (DNS records) and exit.
  std::function<bool()> should_stop;
  std::chrono::milliseconds stop_grace{std::chrono::seconds(8)};
  // Sent to the child's process group when certpilot exits at once on a second SIGINT/SIGTERM
  // (util/cancel): the child runs in its own group, so the terminal's Ctrl-C never reaches it and
  // it would run on, orphaned. SIGTERM suits a child that is certpilot itself: to it, it is the
  // second signal, so it exits at once too and prints what it leaves behind.
  int hard_exit_signal = SIGKILL;
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

// Sends each running child's process group its hard_exit_signal. Async-signal-safe (lock-free
// atomics and kill(2) only): util/cancel calls it from the signal handler just before _exit.
void signal_running_children() noexcept;

// The PATH run_process searches for a program name without '/': $PATH, or the system default.
std::string program_search_path();

// Checks, before any work depends on it, that `program` can be run, and returns its absolute path
// (so every later run uses the same file, whatever PATH or the working directory become). A name
// without '/' is looked up in `search_path`. Refused, with the cause: not found, a folder, not a
// regular file, not executable, or a script whose #! interpreter is missing or not executable.
Result<std::string> resolve_program(const std::string& program, std::string_view search_path);

}  // namespace certpilot::util
