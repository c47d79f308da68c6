#pragma once
// When to renew a certificate: pure functions of (certificate lifetime, ARI answer, failure history,
// now, a uniform random number). No clock, no I/O, no hidden randomness, so tests are exact and the
// scheduler can recompute a decision at any time and get the same answer for the same inputs.
//
// The rules, in order of precedence:
//   1. Failure backoff and the CA's Retry-After always hold (never hammer the CA).
//   2. Emergency: less than 1/20 of the lifetime left -> renew now, whatever ARI says.
//   3. ARI (RFC 9773) when the CA offers it: a uniform random time inside the suggested window.
//   4. Otherwise: when 1/3 of the lifetime remains (1/2 for lifetimes under 10 days), a little earlier
//      by jitter.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/certificate.hpp"
#include "util/clock.hpp"
#include "util/result.hpp"

namespace certpilot::agent {

using util::SysTime;

// What the policy needs from a certificate (Certificate::not_before()/not_after()).
struct CertLifetime {
  SysTime not_before;
  SysTime not_after;
  // When certpilot ordered this certificate because the CA's window for its predecessor had passed
  // (CertificateMeta::replaced_for_past_ari_window).
  std::optional<SysTime> replaced_for_past_ari_window = std::nullopt;
};

// A CA whose renewal information keeps saying "renew now" for the certificates it just issued
// would otherwise make the daemon reissue in a loop and burn the CA's rate limits: a certificate
// that itself replaced one for a past window is replaced for that reason again only this long after.
inline constexpr std::chrono::hours kRepeatPastAriWindowGap{24};

// A RenewalInfo answer (RFC 9773 §4.2): the suggested window and the poll interval.
struct AriWindow {
  SysTime start;
  SysTime end;
  std::optional<std::chrono::seconds> retry_after;  // the response's Retry-After header, if any
};

// Failure history of one certificate name, persisted in meta.json so a restart does not hammer
// the CA.
struct FailureHistory {
  int consecutive_failures = 0;               // reset to 0 after a success
  std::optional<SysTime> last_failure;        // time of the most recent failure
  std::optional<std::chrono::seconds> ca_retry_after;  // Retry-After the CA sent with that failure
  std::vector<SysTime> recent_failures;       // failure times within the last hour (see prune)
};

struct PolicyOptions {
  // Replaces rule 4, and rule 3 when the ARI time is later: renew when this much lifetime remains
  // ([daemon] renew_before), or at the ARI time if that is sooner.
  std::optional<std::chrono::seconds> renew_before;
};

enum class RenewReason {
  lifetime,        // rule 4
  ari_window,      // rule 3, a time inside the window
  ari_past,        // rule 3, the window has started or passed: now
  emergency,       // rule 2
  override_before, // PolicyOptions::renew_before
};

struct RenewalDecision {
  SysTime renew_at;       // start an order at this time (<= now: at once)
  RenewReason reason;
  bool delayed_by_failures = false;  // renew_at was pushed back by rule 1
  // When to ask ARI again (only with ARI; the scheduler wakes at min(renew_at, next_ari_poll)).
  std::optional<SysTime> next_ari_poll;
  std::string explanation;  // one line for logs / `certpilot status`
};

// Limits, named so tests and docs can refer to them.
inline constexpr std::chrono::seconds kMinAriPoll{60};           // RFC 9773 §4.3: clamp Retry-After
inline constexpr std::chrono::seconds kMaxAriPoll{24 * 3600};
inline constexpr std::chrono::seconds kDefaultAriPoll{6 * 3600};  // no Retry-After sent
inline constexpr int kMaxFailuresPerHour = 5;  // Let's Encrypt: failed validations per name per hour
inline constexpr std::chrono::seconds kFailureWindow{3600};

// Rule 4 alone: 2/3 of the lifetime (1/2 under 10 days), minus jitter = u * lifetime/60.
// u is uniform in [0,1).
SysTime lifetime_renewal_time(const CertLifetime& cert, double u);

// Rule 2's threshold: not_after - lifetime/20.
SysTime emergency_time(const CertLifetime& cert);

// Rule 3 alone: start + u * (end - start); `now` if that is already past (RFC 9773 §4.2).
// When `previous` (a time chosen earlier from an older window) still lies inside this window it is
// kept, so re-polling does not re-roll the dice; a window the CA moved (e.g. earlier after a
// revocation) gets a new choice.
SysTime ari_renewal_time(const AriWindow& window, SysTime now, double u,
                         std::optional<SysTime> previous = std::nullopt);

// Retry-After clamped to [1 minute, 1 day]; 6 hours when absent (RFC 9773 §4.3).
std::chrono::seconds ari_poll_interval(std::optional<std::chrono::seconds> retry_after);

// Backoff after n consecutive failures (n >= 1): 1 min, 10 min, 100 min, then 6 hours; never less
// than the CA's Retry-After. n <= 0 gives 0.
std::chrono::seconds failure_backoff(int consecutive_failures,
                                     std::optional<std::chrono::seconds> ca_retry_after = std::nullopt);

// Keeps only failures within the last hour (the window of kMaxFailuresPerHour).
std::vector<SysTime> prune_failures(const std::vector<SysTime>& failures, SysTime now);

// The earliest time another attempt may start given the failure history (now when none applies):
// the backoff ladder, the CA's Retry-After, and at most 5 failures per rolling hour.
SysTime earliest_retry(const FailureHistory& history, SysTime now);

// Everything together. `previous_choice` is the renew_at persisted from an earlier ARI decision.
RenewalDecision decide_renewal(const CertLifetime& cert, const std::optional<AriWindow>& ari,
                               const FailureHistory& history, SysTime now, double u,
                               const PolicyOptions& options = {},
                               std::optional<SysTime> previous_choice = std::nullopt);

// Records a failed attempt at `now` into the history (for meta.json).
FailureHistory record_failure(FailureHistory history, SysTime now,
                              std::optional<std::chrono::seconds> ca_retry_after);

// The ARI certificate identifier (RFC 9773 §4.1):
// base64url(AKI keyIdentifier) "." base64url(serial number DER content bytes), no padding.
std::string ari_certificate_id(std::string_view authority_key_id, std::string_view serial_der);
// The same from a certificate; invalid_input when it has no Authority Key Identifier.
util::Result<std::string> ari_certificate_id(const crypto::Certificate& cert);

std::string_view to_string(RenewReason reason);

}  // namespace certpilot::agent
