#include "agent/job_process.hpp"

#include <csignal>

#include <nlohmann/json.hpp>

#include "agent/managed.hpp"
#include "util/cancel.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"
#include "util/subprocess.hpp"
#include "util/time.hpp"

namespace certpilot::agent {

namespace {

const util::Logger kLog("agent");

RenewResult failed(const CertificateConfig& cert, std::string message) {
  util::Error err(util::Errc::internal, std::move(message));
  return {cert.name, RenewStatus::failed, util::SystemClock::instance().now() + std::chrono::minutes(1), err.message,
          err, ""};
}

}  // namespace

std::string renew_result_to_json(const RenewResult& r) {
  nlohmann::json j{{"name", r.name},
                   {"status", std::string(to_string(r.status))},
                   {"next_check", util::format_rfc3339(r.next_check)},
                   {"message", r.message},
                   {"serial", r.serial}};
  if (r.error) {
    // Parent and child are the same binary, so the enum's value is stable between them.
    j["error"] = {{"code", static_cast<int>(r.error->code)}, {"message", r.error->message}};
  }
  return j.dump();
}

util::Result<RenewResult> renew_result_from_json(std::string_view line) {
  const auto j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return util::fail(util::Errc::internal, "renewal job answer is not JSON");
  RenewResult r;
  r.name = j.value("name", "");
  const std::string status = j.value("status", "");
  if (status == "issued") r.status = RenewStatus::issued;
  else if (status == "not_due") r.status = RenewStatus::not_due;
  else if (status == "busy") r.status = RenewStatus::busy;
  else if (status == "failed") r.status = RenewStatus::failed;
  else return util::fail(util::Errc::internal, "renewal job answer has status \"" + util::printable_excerpt(status, 20) + "\"");
  const auto next = util::parse_rfc3339(j.value("next_check", ""));
  if (!next) return util::fail(util::Errc::internal, "renewal job answer has no next_check");
  r.next_check = *next;
  r.message = j.value("message", "");
  r.serial = j.value("serial", "");
  if (j.contains("error") && j["error"].is_object()) {
    r.error = util::Error(static_cast<util::Errc>(j["error"].value("code", static_cast<int>(util::Errc::internal))),
                          j["error"].value("message", ""));
  }
  return r;
}

RenewResult renew_in_child(const JobCommand& command, const Config& config, const CertificateConfig& cert) {
  util::ProcessOptions p;
  p.argv = command.argv_prefix;
  for (const char* a : {"renew-job", "--name"}) p.argv.emplace_back(a);
  p.argv.push_back(cert.name);
  p.argv.emplace_back("--config-path");
  p.argv.push_back(config.path);
  p.stdin_data = config.text;
  p.timeout = command.timeout;
  p.inherit_stderr = true;
  p.should_stop = [] { return util::cancel_requested(); };
  // The child is certpilot: to it this is the second signal too, so it exits at once and prints
  // the TXT records it leaves (SIGKILL would leave them unnamed).
  p.hard_exit_signal = SIGTERM;
  auto run = util::run_process(p);
  if (!run) return failed(cert, "starting the renewal job: " + run.error().message);
  const auto& r = *run;
  // The answer is the last line; anything before it would be a library printing to stdout.
  std::string last;
  for (const auto& line : util::split(r.out, '\n')) {
    if (!util::trim(line).empty()) last = std::string(util::trim(line));
  }
  if (auto answer = renew_result_from_json(last); answer && answer->name == cert.name) return *answer;
  std::string how = r.timed_out ? "was stopped after " + util::format_duration(command.timeout)
                    : r.signal != 0 ? "was killed by signal " + std::to_string(r.signal)
                                    : "exited with status " + std::to_string(r.exit_code);
  kLog.error("renewal job ended without an answer", {{"cert", cert.name}, {"how", how}});
  return failed(cert, "the renewal job for " + cert.name + " " + how + " without an answer");
}

RenewResult run_renew_job(std::string_view config_text, const std::string& config_path, const std::string& name) {
  CertificateConfig unknown;
  unknown.name = name;
  auto config = parse_config(config_text, config_path);
  if (!config) return failed(unknown, config.error().describe());
  const CertificateConfig* cert = config->find_certificate(name);
  if (cert == nullptr) return failed(unknown, "no certificate \"" + name + "\" in the config");
  auto store = open_store(*config);
  if (!store) return failed(*cert, store.error().describe());
  RenewEnv env;
  env.config = &*config;
  env.store = &*store;
  return renew_one(*cert, env);
}

}  // namespace certpilot::agent
