#pragma once
// The operator's program run after a certificate was renewed and saved: reload a web server, copy
// files. Its failure is reported; the new certificate stays (it is valid and already saved).
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "util/result.hpp"

namespace certpilot::agent {

struct DeployEvent {
  std::string name;
  std::vector<std::string> domains;
  std::filesystem::path dir;  // certificates/<name> (stable path; a symlink to the new version)
  std::string serial;
};

// Runs `program` (no shell) with CERTPILOT_CERT_NAME, CERTPILOT_DOMAINS (space-separated),
// CERTPILOT_CERT_DIR, CERTPILOT_KEY, CERTPILOT_CERT, CERTPILOT_CHAIN, CERTPILOT_FULLCHAIN and
// CERTPILOT_SERIAL in its environment. Non-zero exit, a signal or the timeout is an error quoting
// its stderr.
util::Result<void> run_deploy_hook(const std::string& program, std::chrono::seconds timeout, const DeployEvent& event);

}  // namespace certpilot::agent
