#include "dns/exec/exec_provider.hpp"

#include "util/cancel.hpp"
#include "util/strings.hpp"
#include "util/subprocess.hpp"
#include "util/time.hpp"

namespace certpilot::dns {

namespace {

// Time a stopped hook gets between SIGTERM and SIGKILL: enough to undo a half-made change, short
// enough that a stop does not wait long.
constexpr std::chrono::milliseconds kStopGrace{2000};

}  // namespace

Result<ProviderPtr> ExecProvider::create(const std::map<std::string, std::string>& options) {
  return create(options, util::program_search_path());
}

Result<ProviderPtr> ExecProvider::create(const std::map<std::string, std::string>& options,
                                         std::string_view search_path) {
  ExecConfig config;
  for (const auto& [key, value] : options) {
    if (key == "program") {
      config.program = value;
    } else if (key == "timeout") {
      const auto d = util::parse_duration(value);
      if (!d || d->count() <= 0) {
        // Zero would kill every hook at once; say what a valid value looks like.
        return util::fail(util::Errc::invalid_input, "exec: timeout '" + util::printable_excerpt(value, 40) +
                                                         "' is not a duration of at least 1 second (e.g. 60 or 2m)");
      }
      config.timeout = *d;
    } else {
      return util::fail(util::Errc::invalid_input, "exec: unknown option '" + key + "' (known: program, timeout)");
    }
  }
  if (config.program.empty()) {
    return util::fail(util::Errc::invalid_input, "exec: no program given; pass --dns-opt program=/path/to/hook");
  }
  // Found out now, not after an order was created: a name missing from PATH, a folder, a script
  // whose #! interpreter is gone. The absolute path keeps every later run on the same file.
  auto program = util::resolve_program(config.program, search_path);
  if (!program) return util::fail(program.error().wrapped("exec"));
  config.program = std::move(*program);
  return ProviderPtr(std::make_unique<ExecProvider>(std::move(config)));
}

Result<void> ExecProvider::run(const std::string& action, const TxtRecord& record) {
  util::ProcessOptions opts;
  opts.argv = {config_.program, action, record.fqdn, record.value};
  opts.env_extra = {{"CERTPILOT_ACTION", action},
                    {"CERTPILOT_FQDN", record.fqdn},
                    {"CERTPILOT_VALUE", record.value},
                    {"CERTPILOT_ZONE", record.zone},
                    {"CERTPILOT_TTL", std::to_string(record.ttl.count())}};
  opts.timeout = config_.timeout;
  // SIGINT/SIGTERM: stop a present hook instead of waiting it out, so clean-up starts at once.
  // Clean-up runs under a CancelShield, where cancel_requested() stays false: its hooks finish.
  opts.should_stop = [] { return util::cancel_requested(); };
  opts.stop_grace = kStopGrace;
  // Its error names the program ("cannot run '...'"); the solver adds "exec: adding TXT <fqdn>".
  auto started = util::run_process(opts);
  if (!started) return util::fail(started.error());
  const util::ProcessResult& result = *started;
  const std::string what = "'" + config_.program + " " + action + " " + record.fqdn + "'";
  if (result.stopped) {
    return util::fail(util::Errc::cancelled, what + " was stopped: certpilot is shutting down (SIGINT/SIGTERM)");
  }
  if (result.timed_out) {
    return util::fail(util::Errc::timeout, what + " did not finish within " + util::format_duration(config_.timeout) +
                                               " and was killed");
  }
  if (result.signal != 0) {
    return util::fail(util::Errc::dns, what + " was killed by signal " + std::to_string(result.signal));
  }
  if (result.exit_code != 0) {
    std::string err = util::printable_excerpt(result.err.empty() ? result.out : result.err, 400);
    return util::fail(util::Errc::dns, what + " exited with status " + std::to_string(result.exit_code) +
                                           (err.empty() ? std::string(" and printed nothing") : ": " + err));
  }
  return util::ok();
}

}  // namespace certpilot::dns
