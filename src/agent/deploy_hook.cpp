#include "agent/deploy_hook.hpp"

#include "util/strings.hpp"
#include "util/subprocess.hpp"
#include "util/time.hpp"

namespace certpilot::agent {

util::Result<void> run_deploy_hook(const std::string& program, std::chrono::seconds timeout, const DeployEvent& e) {
  util::ProcessOptions opts;
  opts.argv = {program};
  opts.timeout = timeout;
  opts.env_extra = {{"CERTPILOT_CERT_NAME", e.name},
                    {"CERTPILOT_DOMAINS", util::join(e.domains, " ")},
                    {"CERTPILOT_CERT_DIR", e.dir.string()},
                    {"CERTPILOT_KEY", (e.dir / "key.pem").string()},
                    {"CERTPILOT_CERT", (e.dir / "cert.pem").string()},
                    {"CERTPILOT_CHAIN", (e.dir / "chain.pem").string()},
                    {"CERTPILOT_FULLCHAIN", (e.dir / "fullchain.pem").string()},
                    {"CERTPILOT_SERIAL", e.serial}};
  CERTPILOT_TRY(auto r, util::run_process(opts), "deploy hook");
  const std::string what = "deploy hook '" + program + "' for " + e.name;
  if (r.timed_out) {
    return util::fail(util::Errc::timeout, what + " did not finish within " + util::format_duration(timeout));
  }
  if (r.signal != 0) return util::fail(util::Errc::internal, what + " was killed by signal " + std::to_string(r.signal));
  if (r.exit_code != 0) {
    const std::string err = util::printable_excerpt(r.err.empty() ? r.out : r.err, 300);
    return util::fail(util::Errc::internal, what + " exited with status " + std::to_string(r.exit_code) +
                                                (err.empty() ? std::string() : ": " + err));
  }
  return util::ok();
}

}  // namespace certpilot::agent
