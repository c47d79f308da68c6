#include <catch2/catch.hpp>

#include "agent/renewal_policy.hpp"

using namespace certpilot;
using namespace certpilot::agent;
using namespace std::chrono_literals;
using std::chrono::hours;

namespace {

const SysTime kT0 = SysTime(std::chrono::seconds(1'750'000'000));  // 2025-06-15

constexpr hours days(int n) { return hours(24 * n); }

CertLifetime cert_of(hours lifetime) { return {kT0, kT0 + lifetime}; }

}  // namespace

TEST_CASE("lifetime rule: 90-day certificate renews with 30 days left", "[agent][policy]") {
  const auto c = cert_of(days(90));
  CHECK(lifetime_renewal_time(c, 0.0) == kT0 + days(60));
  // Jitter only moves it earlier, by at most lifetime/60 = 1.5 days.
  const auto late = lifetime_renewal_time(c, 0.999999);
  CHECK(late < kT0 + days(60));
  CHECK(late > kT0 + days(60) - hours(36));
  CHECK(lifetime_renewal_time(c, 0.5) == kT0 + days(60) - hours(18));
}

TEST_CASE("lifetime rule: 45-day certificate renews with 15 days left", "[agent][policy]") {
  CHECK(lifetime_renewal_time(cert_of(days(45)), 0.0) == kT0 + days(30));
}

TEST_CASE("lifetime rule: 6-day certificate renews at half its lifetime", "[agent][policy]") {
  const auto c = cert_of(days(6));
  CHECK(lifetime_renewal_time(c, 0.0) == kT0 + days(3));
  CHECK(lifetime_renewal_time(c, 0.5) == kT0 + days(3) - 72min);  // 6d/60 = 2.4h, half of it
}

TEST_CASE("decide_renewal without ARI: not yet due, then due", "[agent][policy]") {
  const auto c = cert_of(days(90));
  const auto early = decide_renewal(c, std::nullopt, {}, kT0 + days(1), 0.0);
  CHECK(early.reason == RenewReason::lifetime);
  CHECK(early.renew_at == kT0 + days(60));
  CHECK_FALSE(early.next_ari_poll.has_value());
  const auto due = decide_renewal(c, std::nullopt, {}, kT0 + days(61), 0.0);
  CHECK(due.renew_at == kT0 + days(61));  // now
}

TEST_CASE("ARI window in the future: uniform time inside it", "[agent][policy]") {
  const auto c = cert_of(days(90));
  const AriWindow w{kT0 + days(58), kT0 + days(60), std::nullopt};
  const auto now = kT0 + days(10);
  CHECK(ari_renewal_time(w, now, 0.0) == w.start);
  CHECK(ari_renewal_time(w, now, 0.25) == w.start + hours(12));
  CHECK(ari_renewal_time(w, now, 0.999999) < w.end);
  const auto d = decide_renewal(c, w, {}, now, 0.5);
  CHECK(d.reason == RenewReason::ari_window);
  CHECK(d.renew_at == kT0 + days(59));
  REQUIRE(d.next_ari_poll.has_value());
  CHECK(*d.next_ari_poll == now + kDefaultAriPoll);
}

TEST_CASE("ARI window in the past: renew at once", "[agent][policy]") {
  const auto c = cert_of(days(90));
  const AriWindow w{kT0 + days(20), kT0 + days(21), 3600s};
  const auto now = kT0 + days(30);
  const auto d = decide_renewal(c, w, {}, now, 0.7);
  CHECK(d.reason == RenewReason::ari_past);
  CHECK(d.renew_at == now);
}

TEST_CASE("ARI window past again for a certificate that replaced one for a past window: at most once a day",
          "[agent][policy]") {
  // A CA that answers "renew now" for every certificate it issues must not drive a reissue loop.
  auto c = cert_of(days(90));
  const AriWindow past{kT0 - days(2), kT0 - days(1), std::nullopt};
  const SysTime now = kT0 + hours(1);
  c.replaced_for_past_ari_window = kT0;
  auto d = decide_renewal(c, past, {}, now, 0.5);
  CHECK(d.reason == RenewReason::ari_past);
  CHECK(d.renew_at == kT0 + hours(24));
  CHECK_THAT(d.explanation, Catch::Contains("at most one such renewal a day"));
  // A day later it renews (and the new certificate gets the same treatment).
  CHECK(decide_renewal(c, past, {}, kT0 + hours(25), 0.5).renew_at == kT0 + hours(25));
  // Replaced for another reason (lifetime, a config change): a past window is honoured at once.
  c.replaced_for_past_ari_window = std::nullopt;
  CHECK(decide_renewal(c, past, {}, now, 0.5).renew_at == now);
  // A window that is not past is unaffected.
  c.replaced_for_past_ari_window = kT0;
  const AriWindow future{kT0 + days(50), kT0 + days(52), std::nullopt};
  CHECK(decide_renewal(c, future, {}, now, 0.0).renew_at == kT0 + days(50));
  // Nor does the guard outlast the emergency rule: a 1-day certificate is renewed at its 1/20.
  CertLifetime short_lived{kT0, kT0 + hours(24), kT0};
  const auto late = kT0 + hours(23);
  CHECK(decide_renewal(short_lived, past, {}, late, 0.5).renew_at == late);
}

TEST_CASE("ARI window moved earlier by the CA (revocation): choose again", "[agent][policy]") {
  const auto c = cert_of(days(90));
  const auto now = kT0 + days(10);
  const AriWindow original{kT0 + days(58), kT0 + days(60), std::nullopt};
  const auto first = ari_renewal_time(original, now, 0.5);
  CHECK(first == kT0 + days(59));
  // Polling again with the same window keeps the earlier choice, even with another random value.
  CHECK(ari_renewal_time(original, now + 6h, 0.1, first) == first);
  // The CA moves the window to "now-ish" (e.g. the certificate will be revoked): new choice inside.
  const AriWindow moved{now - 1h, now + 1h, std::nullopt};
  const auto d = decide_renewal(c, moved, {}, now, 0.9, {}, first);
  CHECK(d.renew_at == now + 48min);  // start + 0.9 * 2h
  CHECK(d.reason == RenewReason::ari_past);
  // With a low random value the choice is already past: renew immediately.
  CHECK(ari_renewal_time(moved, now, 0.1, first) == now);
}

TEST_CASE("Retry-After of ARI is clamped to 1 minute .. 1 day", "[agent][policy]") {
  CHECK(ari_poll_interval(std::nullopt) == 6h);
  CHECK(ari_poll_interval(1s) == 60s);
  CHECK(ari_poll_interval(0s) == 60s);
  CHECK(ari_poll_interval(-5s) == 60s);
  CHECK(ari_poll_interval(7200s) == 7200s);
  CHECK(ari_poll_interval(days(30)) == 24h);
  const AriWindow w{kT0 + days(58), kT0 + days(60), std::chrono::seconds(5)};
  const auto d = decide_renewal(cert_of(days(90)), w, {}, kT0, 0.0);
  CHECK(*d.next_ari_poll == kT0 + 60s);
}

TEST_CASE("emergency: less than 1/20 of the lifetime left renews now, whatever ARI says", "[agent][policy]") {
  const auto c = cert_of(days(90));
  CHECK(emergency_time(c) == kT0 + days(90) - hours(108));  // 4.5 days before expiry
  const auto now = kT0 + days(86);
  const AriWindow late{kT0 + days(89), kT0 + days(95), std::nullopt};
  const auto d = decide_renewal(c, late, {}, now, 0.5);
  CHECK(d.reason == RenewReason::emergency);
  CHECK(d.renew_at == now);
  // Before the emergency point, an ARI window beyond it is capped at the emergency time.
  const auto d2 = decide_renewal(c, late, {}, kT0 + days(10), 0.5);
  CHECK(d2.reason == RenewReason::emergency);
  CHECK(d2.renew_at == emergency_time(c));
  // 6-day certificate: 7.2 hours before expiry.
  CHECK(emergency_time(cert_of(days(6))) == kT0 + days(6) - 432min);
}

TEST_CASE("backoff ladder: 1 min, 10 min, 100 min, then 6 hours", "[agent][policy]") {
  CHECK(failure_backoff(0) == 0s);
  CHECK(failure_backoff(1) == 1min);
  CHECK(failure_backoff(2) == 10min);
  CHECK(failure_backoff(3) == 100min);
  CHECK(failure_backoff(4) == 6h);
  CHECK(failure_backoff(50) == 6h);
  // Never less than the CA's Retry-After.
  CHECK(failure_backoff(1, 3600s) == 3600s);
  CHECK(failure_backoff(4, 7h) == 7h);
  CHECK(failure_backoff(4, 30s) == 6h);
}

TEST_CASE("decide_renewal applies backoff after failures, even in an emergency", "[agent][policy]") {
  const auto c = cert_of(days(90));
  const auto now = kT0 + days(87);
  FailureHistory h;
  h = record_failure(h, now - 30s, std::nullopt);
  auto d = decide_renewal(c, std::nullopt, h, now, 0.0);
  CHECK(d.delayed_by_failures);
  CHECK(d.renew_at == now + 30s);  // 1 min after the failure
  h = record_failure(h, now, 120s * 60);  // second failure, CA says 2 hours
  d = decide_renewal(c, std::nullopt, h, now, 0.0);
  CHECK(d.renew_at == now + 2h);
  // A success resets the history (the caller stores a fresh FailureHistory).
  d = decide_renewal(c, std::nullopt, FailureHistory{}, now, 0.0);
  CHECK_FALSE(d.delayed_by_failures);
  CHECK(d.renew_at == now);
}

TEST_CASE("at most 5 failures per name per rolling hour", "[agent][policy]") {
  FailureHistory h;
  SysTime t = kT0;
  // Five failures 2 minutes apart, ignoring the ladder (as if the ladder had been reset by restarts
  // without persistence: the hourly limit must still hold).
  for (int i = 0; i < 5; ++i) {
    h.recent_failures.push_back(t + std::chrono::minutes(2 * i));
  }
  const auto now = t + 9min;
  CHECK(earliest_retry(h, now) == t + 1h);  // the oldest leaves the window
  // Four failures in the last hour: no hourly limit.
  h.recent_failures.erase(h.recent_failures.begin());
  CHECK(earliest_retry(h, now) == now);
  // Old failures are pruned.
  CHECK(prune_failures({t - 2h, t - 61min, t - 59min}, t).size() == 1);
  // record_failure keeps only the last hour.
  FailureHistory r;
  r = record_failure(r, t, std::nullopt);
  r = record_failure(r, t + 2h, std::nullopt);
  CHECK(r.recent_failures.size() == 1);
  CHECK(r.consecutive_failures == 2);
}

TEST_CASE("renew_before override makes a certificate due", "[agent][policy]") {
  const auto c = cert_of(days(90));
  PolicyOptions o;
  o.renew_before = days(89);
  const auto d = decide_renewal(c, std::nullopt, {}, kT0 + hours(2), 0.3, o);
  CHECK(d.reason == RenewReason::override_before);
  CHECK(d.renew_at == kT0 + days(1));
  // Not shorter than the lifetime: ignored (a new certificate would be due at once, forever).
  o.renew_before = days(100);
  const auto ignored = decide_renewal(c, std::nullopt, {}, kT0 + hours(2), 0.3, o);
  CHECK(ignored.reason == RenewReason::lifetime);
  CHECK(ignored.renew_at > kT0 + days(50));
  CHECK(ignored.explanation.find("ignored") != std::string::npos);
}

TEST_CASE("renew_before and ARI: the sooner of the two wins", "[agent][policy]") {
  const auto c = cert_of(days(90));
  PolicyOptions o;
  o.renew_before = days(30);  // due at kT0 + 60 days
  const auto now = kT0 + days(10);
  // The CA moved the window into the past (a revocation coming): renew now, not in 50 days.
  const AriWindow past{kT0 + days(5), kT0 + days(6), std::nullopt};
  const auto urgent = decide_renewal(c, past, {}, now, 0.5, o);
  CHECK(urgent.reason == RenewReason::ari_past);
  CHECK(urgent.renew_at == now);
  REQUIRE(urgent.next_ari_poll.has_value());
  // A window earlier than the override but still ahead: a time inside it.
  const AriWindow soon{kT0 + days(20), kT0 + days(22), std::nullopt};
  const auto in_window = decide_renewal(c, soon, {}, now, 0.5, o);
  CHECK(in_window.reason == RenewReason::ari_window);
  CHECK(in_window.renew_at == kT0 + days(21));
  // A window after the override: the override holds, and ARI is still polled.
  const AriWindow late{kT0 + days(70), kT0 + days(72), std::nullopt};
  const auto overridden = decide_renewal(c, late, {}, now, 0.5, o);
  CHECK(overridden.reason == RenewReason::override_before);
  CHECK(overridden.renew_at == kT0 + days(60));
  CHECK(overridden.next_ari_poll == now + kDefaultAriPoll);
}

TEST_CASE("ARI certificate identifier, RFC 9773 §4.1 example", "[agent][policy]") {
  const std::string aki("\x69\x88\x5B\x6B\x87\x46\x40\x41\xE1\xB3\x7B\x84\x7B\xA0\xAE\x2C\xDE\x01\xC8\xD4", 20);
  const std::string serial("\x00\x87\x65\x43\x21", 5);
  CHECK(ari_certificate_id(aki, serial) == "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
}
