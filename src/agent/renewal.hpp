#pragma once
// One managed certificate, one pass: take its lock, re-read its state, decide whether it is due
// (renewal policy, ARI), and if so obtain, save, run the deploy hook and record the outcome in
// meta.json. Used by `certpilot renew` and by each worker of `certpilot run`.
#include <functional>
#include <optional>
#include <random>
#include <string>

#include "agent/config.hpp"
#include "crypto/certificate.hpp"
#include "store/store.hpp"
#include "util/clock.hpp"

namespace certpilot::agent {

enum class RenewStatus {
  issued,     // a new certificate was saved
  not_due,    // nothing to do until next_check
  busy,       // another process holds the lock; try again later
  failed,     // recorded in meta.json with the backoff in next_check
};
std::string_view to_string(RenewStatus status);

struct RenewResult {
  std::string name;
  RenewStatus status = RenewStatus::not_due;
  util::SysTime next_check;   // when to look at this certificate again
  std::string message;        // one line: why not due, the new serial, or the error
  std::optional<util::Error> error;
  std::string serial;         // of the certificate now current (new or old)
};

struct RenewEnv {
  const Config* config = nullptr;
  const store::Store* store = nullptr;
  const util::Clock* clock = &util::SystemClock::instance();
  bool force = false;  // renew even when not due
  // Called after a new certificate was saved (the daemon hands it to the TLS listener).
  std::function<void(const std::string& name)> on_issued;
};

// Never throws; every failure is in the result (and in meta.json).
RenewResult renew_one(const CertificateConfig& cert, const RenewEnv& env);

}  // namespace certpilot::agent
