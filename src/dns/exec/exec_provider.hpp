#pragma once
// The escape hatch for any DNS without a built-in provider: runs the operator's program as
//   PROGRAM present FQDN VALUE      and      PROGRAM cleanup FQDN VALUE
// (FQDN without a trailing dot), with the same values in CERTPILOT_ACTION, CERTPILOT_FQDN,
// CERTPILOT_VALUE, CERTPILOT_ZONE and CERTPILOT_TTL. Exit 0 means done; anything else is an error
// that quotes the program's stderr. The program is run directly, never through a shell.
// On SIGINT/SIGTERM (util::cancel_requested) a running hook gets SIGTERM, then SIGKILL 2 s later,
// and the call fails with Errc::cancelled; clean-up hooks run under the solver's CancelShield,
// which hides the cancellation, so they finish. A second signal, on which certpilot exits at once,
// SIGKILLs the hook's process group (util/cancel). A hook counts as finished when it exits: a
// process it leaves running in the background may keep its output open without holding us.
#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "dns/provider.hpp"

namespace certpilot::dns {

struct ExecConfig {
  std::string program;
  std::chrono::seconds timeout{120};
};

// The options ExecProvider::create accepts (config checks use them too).
inline const std::vector<std::string> kExecOptions{"program", "timeout"};

class ExecProvider final : public Provider {
 public:
  // Options: program=PATH (required), timeout=SECONDS. The program is checked here, before any
  // order exists (found, a file, executable, its #! interpreter too), and kept as an absolute
  // path; a name without '/' is looked up in `search_path` (default: the PATH hooks are run with).
  static Result<ProviderPtr> create(const std::map<std::string, std::string>& options);
  static Result<ProviderPtr> create(const std::map<std::string, std::string>& options,
                                    std::string_view search_path);
  explicit ExecProvider(ExecConfig config) : config_(std::move(config)) {}
  std::string_view name() const override { return "exec"; }
  Result<void> present(const TxtRecord& record) override { return run("present", record); }
  Result<void> cleanup(const TxtRecord& record) override { return run("cleanup", record); }

 private:
  Result<void> run(const std::string& action, const TxtRecord& record);
  ExecConfig config_;
};

}  // namespace certpilot::dns
