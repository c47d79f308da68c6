#include "agent/renewal_policy.hpp"

#include <algorithm>
#include <cmath>

#include "util/base64url.hpp"
#include "util/time.hpp"

namespace certpilot::agent {
namespace {

using std::chrono::duration_cast;
using std::chrono::seconds;
using Dur = SysTime::duration;

constexpr auto kShortLifetime = std::chrono::hours(24 * 10);

double clamp_unit(double u) {
  if (!(u >= 0.0)) return 0.0;  // also catches NaN
  return u >= 1.0 ? std::nextafter(1.0, 0.0) : u;
}

Dur scale(Dur d, double f) { return Dur(static_cast<Dur::rep>(static_cast<double>(d.count()) * f)); }

std::string fmt_seconds(seconds s) {
  const auto v = s.count();
  if (v % 86400 == 0 && v != 0) return std::to_string(v / 86400) + "d";
  if (v % 3600 == 0 && v != 0) return std::to_string(v / 3600) + "h";
  if (v % 60 == 0 && v != 0) return std::to_string(v / 60) + "m";
  return std::to_string(v) + "s";
}

}  // namespace

SysTime lifetime_renewal_time(const CertLifetime& cert, double u) {
  const Dur lifetime = cert.not_after - cert.not_before;
  // Let's Encrypt's guidance (and certmagic's default): renew with 1/3 of the lifetime left; short
  // lifetimes (6-day certificates) need more slack for a failed attempt or two, so 1/2.
  const Dur remaining = lifetime < kShortLifetime ? lifetime / 2 : lifetime / 3;
  // Spread a fleet issued at the same moment over ~1.7% of the lifetime (1.5 days for 90 days).
  const Dur jitter = scale(lifetime / 60, clamp_unit(u));
  return cert.not_after - remaining - jitter;
}

SysTime emergency_time(const CertLifetime& cert) {
  return cert.not_after - (cert.not_after - cert.not_before) / 20;
}

SysTime ari_renewal_time(const AriWindow& window, SysTime now, double u, std::optional<SysTime> previous) {
  if (window.end <= window.start) {
    // A degenerate window is a CA bug; RFC 9773 §4.2 says to treat an end before start as invalid.
    // Renewing at `start` is the conservative reading.
    return std::max(window.start, std::min(now, window.start));
  }
  // A time chosen earlier stays valid while it is inside the current window, so polling again does
  // not move the renewal around; if the CA moved the window (e.g. earlier after a revocation,
  // RFC 9773 §4.2), choose again inside the new one.
  SysTime chosen;
  if (previous && *previous >= window.start && *previous < window.end) {
    chosen = *previous;
  } else {
    // RFC 9773 §4.2: "select a uniform random time within the suggested window".
    chosen = window.start + scale(window.end - window.start, clamp_unit(u));
  }
  // RFC 9773 §4.2: a selected time in the past means renew immediately.
  return std::max(chosen, now);
}

seconds ari_poll_interval(std::optional<seconds> retry_after) {
  // RFC 9773 §4.3: honour Retry-After, but clamp it to reasonable limits (one minute, one day).
  if (!retry_after) return kDefaultAriPoll;
  return std::clamp(*retry_after, kMinAriPoll, kMaxAriPoll);
}

seconds failure_backoff(int consecutive_failures, std::optional<seconds> ca_retry_after) {
  if (consecutive_failures <= 0) return seconds(0);
  // Let's Encrypt's integration guide: 1 min, 10 min, 100 min, then a slow steady pace.
  static constexpr seconds kLadder[] = {seconds(60), seconds(600), seconds(6000)};
  const seconds ladder = consecutive_failures <= 3 ? kLadder[consecutive_failures - 1] : seconds(6 * 3600);
  return std::max(ladder, ca_retry_after.value_or(seconds(0)));
}

std::vector<SysTime> prune_failures(const std::vector<SysTime>& failures, SysTime now) {
  std::vector<SysTime> out;
  for (const auto t : failures) {
    if (t > now - kFailureWindow && t <= now) out.push_back(t);
  }
  std::sort(out.begin(), out.end());
  return out;
}

SysTime earliest_retry(const FailureHistory& history, SysTime now) {
  SysTime earliest = now;
  if (history.consecutive_failures > 0 && history.last_failure) {
    earliest = std::max(earliest, *history.last_failure +
                                      failure_backoff(history.consecutive_failures, history.ca_retry_after));
  }
  // At most kMaxFailuresPerHour failures in any rolling hour: with 5 in the window, wait until the
  // oldest leaves it. Holds across restarts because the history lives in meta.json.
  const auto recent = prune_failures(history.recent_failures, now);
  if (static_cast<int>(recent.size()) >= kMaxFailuresPerHour) {
    earliest = std::max(earliest, recent[recent.size() - kMaxFailuresPerHour] + kFailureWindow);
  }
  return earliest;
}

RenewalDecision decide_renewal(const CertLifetime& cert, const std::optional<AriWindow>& ari,
                               const FailureHistory& history, SysTime now, double u, const PolicyOptions& options,
                               std::optional<SysTime> previous_choice) {
  RenewalDecision d{};
  // An override not shorter than the lifetime would make every new certificate due at once and
  // reissue it in a loop (burning the CA's duplicate-certificate limit): it is ignored for such
  // a certificate, which then follows the rules below.
  const bool override_usable = options.renew_before && *options.renew_before < cert.not_after - cert.not_before;
  if (override_usable) {
    d.renew_at = std::max(now, cert.not_after - *options.renew_before);
    d.reason = RenewReason::override_before;
    d.explanation = "renew_before=" + fmt_seconds(*options.renew_before);
  }
  // The override only ever makes renewal earlier: a window the CA moved forward (a revocation
  // coming, RFC 9773 §4.2 https://www.rfc-editor.org/rfc/rfc9773#section-4.2) still wins when it
  // is sooner. certmagic does the same: renew when either ARI or the configured ratio says so.
  if (ari) {
    const SysTime at = ari_renewal_time(*ari, now, u, previous_choice);
    if (!override_usable || at < d.renew_at) {
      d.renew_at = at;
      d.reason = ari->start <= now ? RenewReason::ari_past : RenewReason::ari_window;
      d.explanation = d.reason == RenewReason::ari_past ? "ari window open or past" : "random time in ari window";
    }
  } else if (!override_usable) {
    d.renew_at = std::max(now, lifetime_renewal_time(cert, u));
    d.reason = RenewReason::lifetime;
    d.explanation = "1/3 of lifetime left (1/2 under 10 days)";
  }
  if (options.renew_before && !override_usable) {
    d.explanation += "; renew_before=" + fmt_seconds(*options.renew_before) + " ignored: not shorter than the lifetime";
  }
  if (d.reason == RenewReason::ari_past && cert.replaced_for_past_ari_window &&
      now < *cert.replaced_for_past_ari_window + kRepeatPastAriWindowGap) {
    d.renew_at = *cert.replaced_for_past_ari_window + kRepeatPastAriWindowGap;
    d.explanation = "ari window past again for a certificate that replaced one for a past window at " +
                    util::format_rfc3339(*cert.replaced_for_past_ari_window) + ": at most one such renewal a day";
  }
  if (ari) {
    d.next_ari_poll = now + ari_poll_interval(ari->retry_after);
  }
  // The emergency rule overrides ARI and the override: a CA that suggests a window after expiry
  // (or a stale answer) must not let the certificate lapse.
  const SysTime emergency = emergency_time(cert);
  if (d.renew_at > emergency) {
    d.renew_at = std::max(now, emergency);
    d.reason = RenewReason::emergency;
    d.explanation = "less than 1/20 of lifetime left";
  }
  const SysTime retry = earliest_retry(history, now);
  if (retry > d.renew_at) {
    d.renew_at = retry;
    d.delayed_by_failures = true;
    d.explanation += "; delayed by " + std::to_string(history.consecutive_failures) + " failure(s)";
  }
  return d;
}

FailureHistory record_failure(FailureHistory history, SysTime now, std::optional<seconds> ca_retry_after) {
  history.consecutive_failures += 1;
  history.last_failure = now;
  history.ca_retry_after = ca_retry_after;
  history.recent_failures.push_back(now);
  history.recent_failures = prune_failures(history.recent_failures, now);
  return history;
}

std::string ari_certificate_id(std::string_view authority_key_id, std::string_view serial_der) {
  // RFC 9773 §4.1: base64url-encoded keyIdentifier and serial, joined by ".", padding stripped.
  return util::base64url_encode(authority_key_id) + "." + util::base64url_encode(serial_der);
}

util::Result<std::string> ari_certificate_id(const crypto::Certificate& cert) {
  const auto aki = cert.authority_key_id();
  if (!aki || aki->empty()) {
    return util::fail(util::Errc::invalid_input,
                      "ari certificate id: certificate " + cert.serial_hex() +
                          " has no Authority Key Identifier keyIdentifier (RFC 9773 §4.1 needs it)");
  }
  return ari_certificate_id(*aki, cert.serial_der());
}

std::string_view to_string(RenewReason reason) {
  switch (reason) {
    case RenewReason::lifetime: return "lifetime";
    case RenewReason::ari_window: return "ari_window";
    case RenewReason::ari_past: return "ari_past";
    case RenewReason::emergency: return "emergency";
    case RenewReason::override_before: return "renew_before";
  }
  return "unknown";
}

}  // namespace certpilot::agent
