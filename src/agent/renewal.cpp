#include "agent/renewal.hpp"

#include <algorithm>
#include <set>

#include "agent/ca_session.hpp"
#include "agent/config_settings.hpp"
#include "agent/deploy_hook.hpp"
#include "agent/obtain.hpp"
#include "agent/renewal_policy.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"

namespace certpilot::agent {

namespace {

const util::Logger kLog("agent");

double uniform01() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

FailureHistory history_of(const store::CertificateMeta& meta) {
  FailureHistory h;
  h.consecutive_failures = meta.failure_count;
  h.last_failure = meta.last_failure;
  if (meta.retry_after_seconds) h.ca_retry_after = std::chrono::seconds(*meta.retry_after_seconds);
  h.recent_failures = meta.recent_failures;
  return h;
}

// Why the stored certificate no longer matches what the config asks for ("" when it does).
std::string config_change(const CertificateConfig& cert, const store::StoredCertificate& stored) {
  std::set<std::string> want(cert.domains.begin(), cert.domains.end());
  std::set<std::string> have;
  for (const auto& n : stored.chain.leaf().dns_names()) have.insert(util::to_lower(n));
  if (want != have) return "the configured domains changed";
  if (stored.key.type() != cert.key_type) return "the configured key type changed";
  return "";
}

// The ARI window for the stored certificate, when the CA offers ARI; errors only logged: the
// lifetime rule still applies without it.
std::optional<AriWindow> fetch_ari(const Config& config, const store::StoredCertificate& stored) {
  if (stored.meta.ari_cert_id.empty()) return std::nullopt;
  auto client = open_client(ca_settings_of(config.ca));
  if (!client || !(*client)->directory().renewal_info) return std::nullopt;
  auto info = (*client)->renewal_info(stored.meta.ari_cert_id);
  if (!info) {
    kLog.warn("renewal info unavailable; using the lifetime rule", {{"cert", stored.meta.name}, {"error", info.error().message}});
    return std::nullopt;
  }
  return AriWindow{info->window_start, info->window_end, info->retry_after};
}

RenewResult fail_and_record(const CertificateConfig& cert, const RenewEnv& env, const store::CertLock& lock,
                            store::CertificateMeta meta, const util::Error& err) {
  const auto now = env.clock->now();
  if (err.code == util::Errc::cancelled) {
    // Shutting down is not the CA's fault: no failure recorded, no backoff; look again at start.
    return {cert.name, RenewStatus::not_due, now, "cancelled", err, meta.serial};
  }
  // A Retry-After beyond a day is not trusted for scheduling: it must not push a renewal past expiry.
  std::optional<std::chrono::seconds> retry_after = err.retry_after;
  if (retry_after && *retry_after > std::chrono::hours(24)) retry_after = std::chrono::hours(24);
  auto history = record_failure(history_of(meta), now, retry_after);
  meta.name = cert.name;
  meta.failure_count = history.consecutive_failures;
  meta.last_failure = history.last_failure;
  meta.recent_failures = history.recent_failures;
  if (retry_after) meta.retry_after_seconds = retry_after->count();
  meta.last_error = util::printable_excerpt(err.describe(), 400);
  meta.next_check = earliest_retry(history, now);
  if (auto w = env.store->write_meta(lock, meta); !w) {
    kLog.error("could not record the failure", {{"cert", cert.name}, {"error", w.error().message}});
  }
  kLog.error("renewal failed", {{"cert", cert.name}, {"failures", meta.failure_count},
                                {"retry_at", util::format_rfc3339(*meta.next_check)}, {"error", err.describe()}});
  RenewResult r{cert.name, RenewStatus::failed, *meta.next_check, meta.last_error, err, meta.serial};
  return r;
}

}  // namespace

std::string_view to_string(RenewStatus status) {
  switch (status) {
    case RenewStatus::issued: return "issued";
    case RenewStatus::not_due: return "not_due";
    case RenewStatus::busy: return "busy";
    case RenewStatus::failed: return "failed";
  }
  return "?";
}

RenewResult renew_one(const CertificateConfig& cert, const RenewEnv& env) {
  const auto now = env.clock->now();
  const Config& config = *env.config;
  auto lock = env.store->lock(cert.name, store::LockWait::no_wait);
  if (!lock) {
    if (lock.error().code == util::Errc::conflict) {
      return {cert.name, RenewStatus::busy, now + std::chrono::minutes(1), lock.error().message, lock.error(), ""};
    }
    return {cert.name, RenewStatus::failed, now + std::chrono::minutes(10), lock.error().message, lock.error(), ""};
  }
  // Re-read after taking the lock: another process may have renewed it meanwhile (certmagic).
  store::CertificateMeta meta;
  if (auto m = env.store->read_meta(cert.name); m && *m) meta = **m;  // also failures before the first issuance
  auto loaded = env.store->load_certificate(cert.name);
  std::optional<store::StoredCertificate> current;
  std::string reason;
  if (loaded) {
    current = std::move(*loaded);
  } else if (loaded.error().code == util::Errc::io) {
    return fail_and_record(cert, env, *lock, meta, loaded.error());  // unreadable: an operator must look
  } else {
    // A damaged set (a truncated key.pem, a hand-edited chain) would otherwise block renewal until
    // it expires: replace it; the damaged version goes to the archive like any other.
    kLog.warn("the stored certificate cannot be used; issuing a new one", {{"cert", cert.name}, {"error", loaded.error().message}});
    reason = "the stored certificate cannot be used: " + util::printable_excerpt(loaded.error().message, 200);
  }
  if (current) meta = current->meta;
  const auto history = history_of(meta);
  if (reason.empty() && current) {
    if (auto why = current->chain.mismatch(current->key, {}); !why.empty()) {
      kLog.warn("the stored certificate cannot be used; issuing a new one", {{"cert", cert.name}, {"error", why}});
      reason = "the stored certificate cannot be used: " + why;
    }
  }
  if (reason.empty()) reason = current ? config_change(cert, *current) : "not issued yet";
  bool for_past_ari_window = false;
  if (reason.empty()) {
    const auto& leaf = current->chain.leaf();
    PolicyOptions policy{config.daemon.renew_before};
    const auto ari = fetch_ari(config, *current);
    const auto decision = decide_renewal({leaf.not_before(), leaf.not_after(), meta.replaced_for_past_ari_window},
                                         ari, history, now, uniform01(), policy, meta.renew_at);
    if (decision.renew_at > now && !env.force) {
      meta.renew_at = decision.renew_at;
      meta.next_check = decision.next_ari_poll ? std::min(decision.renew_at, *decision.next_ari_poll) : decision.renew_at;
      if (auto w = env.store->write_meta(*lock, meta); !w) {
        kLog.warn("could not record the next check", {{"cert", cert.name}, {"error", w.error().message}});
      }
      return {cert.name, RenewStatus::not_due, *meta.next_check, decision.explanation, std::nullopt, meta.serial};
    }
    reason = env.force ? "forced" : decision.explanation;
    for_past_ari_window = !env.force && decision.reason == RenewReason::ari_past;
  } else if (!env.force && earliest_retry(history, now) > now) {
    // Still failing (never issued, unusable, or the config asks for something else): a failure for
    // `renew`'s exit code and the daemon's status, without another attempt or another backoff step.
    const auto at = earliest_retry(history, now);
    std::string message = reason + "; backing off after " + std::to_string(history.consecutive_failures) +
                          " failure(s) until " + util::format_rfc3339(at);
    if (!meta.last_error.empty()) message += " (last error: " + meta.last_error + ")";
    message += "; fix the cause, then `certpilot renew --force --name " + cert.name + "` tries at once";
    return {cert.name, RenewStatus::failed, at, message, util::Error(util::Errc::internal, message), meta.serial};
  }

  kLog.info("renewing", {{"cert", cert.name}, {"reason", reason}});
  const auto dns_it = config.dns.find(cert.dns);
  if (dns_it == config.dns.end()) {
    return fail_and_record(cert, env, *lock, meta,
                           {util::Errc::invalid_input, "certificate " + cert.name + " names DNS setup '" + cert.dns + "', which is not defined"});
  }
  ObtainRequest request{cert.domains, cert.key_type, ca_settings_of(config.ca), dns_settings_of(dns_it->second),
                        std::nullopt, for_past_ari_window};
  // RFC 9773 §5: `replaces` names a certificate of the same CA that this one succeeds; a CA may
  // refuse it when the names changed, so it is sent only for a like-for-like renewal.
  if (!meta.ari_cert_id.empty() && current && meta.ca_directory == request.ca.directory_url &&
      config_change(cert, *current).empty()) {
    request.replaces = meta.ari_cert_id;
  }
  auto obtained = obtain(request, *env.store);
  if (!obtained) return fail_and_record(cert, env, *lock, meta, obtained.error().wrapped("renewing " + cert.name));

  const auto& chain = obtained->issued.chain;
  const auto fresh = fresh_meta(cert.name, request, *obtained, env.clock->now(), config.daemon.renew_before);
  if (auto saved = env.store->save_certificate(*lock, obtained->key, chain, fresh); !saved) {
    return fail_and_record(cert, env, *lock, meta, saved.error().wrapped("saving " + cert.name));
  }
  const std::string serial = chain.leaf().serial_hex();
  kLog.info("certificate renewed", {{"cert", cert.name}, {"serial", serial},
                                    {"not_after", util::format_rfc3339(chain.leaf().not_after())},
                                    {"next_check", util::format_rfc3339(*fresh.next_check)}});
  if (env.on_issued) env.on_issued(cert.name);
  RenewResult result{cert.name, RenewStatus::issued, *fresh.next_check, "issued " + serial, std::nullopt, serial};
  if (!cert.deploy_hook.empty()) {
    DeployEvent event{cert.name, cert.domains, env.store->certificate_path(cert.name), serial};
    if (auto hook = run_deploy_hook(cert.deploy_hook, cert.deploy_hook_timeout, event); !hook) {
      kLog.error("deploy hook failed; the new certificate is saved and stays", {{"cert", cert.name}, {"error", hook.error().message}});
      result.message += "; " + hook.error().message;
      result.error = hook.error();
      // `certpilot status` shows it until the next renewal; not a failure of the certificate itself,
      // so no backoff.
      // (The saved meta, which save_certificate completed with the serial and validity.)
      auto saved_meta = env.store->read_meta(cert.name);
      util::Result<void> recorded = util::ok();
      if (saved_meta && *saved_meta) {
        auto shown = **saved_meta;
        shown.last_error = util::printable_excerpt("deploy hook: " + hook.error().describe(), 400);
        recorded = env.store->write_meta(*lock, shown);
      } else if (!saved_meta) {
        recorded = util::fail(saved_meta.error());
      }
      if (!recorded) {
        kLog.warn("could not record the deploy hook failure", {{"cert", cert.name}, {"error", recorded.error().message}});
      }
    }
  }
  return result;
}

}  // namespace certpilot::agent
