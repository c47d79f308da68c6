#pragma once
// Renewal jobs in a child process (`certpilot renew-job`, fed the daemon's config on stdin): the
// daemon keeps the schedule and the TLS listener, the child does the ACME, DNS and HTTPS work for
// one certificate and exits. Why: an idle daemon then holds only what scheduling needs (libcrypto's
// pages and the heap an issuance leaves behind go with the child; bench/README.md, daemon.sh), and a
// crash or a leak in that work cannot take the daemon and its listener down with it.
#include <chrono>
#include <string>
#include <vector>

#include "agent/config.hpp"
#include "agent/renewal.hpp"

namespace certpilot::agent {

struct JobCommand {
  // The program and global options, e.g. {"/proc/self/exe", "--log-level", "info"}; the job's own
  // arguments are appended.
  std::vector<std::string> argv_prefix;
  std::chrono::seconds timeout{std::chrono::minutes(30)};  // a stuck job is killed (its lock goes with it)
};

// Parent side: runs renew_one for `cert` in a child, which logs to our stderr and answers with one
// JSON line. Util's cancellation (SIGTERM to the daemon) is passed on as SIGTERM to the child, which
// cleans up its DNS records like an in-process job would. Never fails: a child that dies without
// an answer is a failed job, retried after the usual minimum backoff.
RenewResult renew_in_child(const JobCommand& command, const Config& config, const CertificateConfig& cert);

// Child side: the whole job, from the config text the parent sent.
RenewResult run_renew_job(std::string_view config_text, const std::string& config_path, const std::string& name);

// One line of JSON each way (the child's stdout); from_json fails on anything else.
std::string renew_result_to_json(const RenewResult& result);
util::Result<RenewResult> renew_result_from_json(std::string_view line);

}  // namespace certpilot::agent
