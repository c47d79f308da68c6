#pragma once
// `certpilot run`: keeps every configured certificate renewed until SIGTERM/SIGINT.
//   - one scheduler thread sleeping until the earliest next check (no polling: idle CPU ~0);
//   - workers started on demand, at most daemon.max_parallel_orders at a time (a new value applies
//     at SIGHUP), at most one job per certificate; they leave when the queue is empty;
//   - once idle (nothing queued or running, every worker gone) freed memory goes back to the
//     kernel (malloc_trim); without the listener all threads share one malloc arena;
//   - SIGHUP reloads the config (a broken one is reported and the old one kept);
//   - each renewal runs in a `certpilot renew-job` child when job_command is set (job_process.hpp);
//   - SIGTERM/SIGINT cancel orders in flight (their DNS records are cleaned up) and exit;
//   - systemd: READY, STATUS, WATCHDOG, STOPPING.
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "agent/job_process.hpp"
#include "util/result.hpp"

namespace certpilot::agent {

struct DaemonOptions {
  std::filesystem::path config_path;
  // Called once the first config is loaded and the store opened, with the store root; the TLS
  // listener hooks in here (later sessions).
  std::function<void(const std::string& name)> on_issued;
  // When set (the CLI's `run` sets it), each renewal runs in a child process (job_process.hpp);
  // empty: in this process.
  std::optional<JobCommand> job_command;
};

// Returns when asked to stop; an error only when the first config or the store cannot be used.
util::Result<void> run_daemon(const DaemonOptions& options);

}  // namespace certpilot::agent
