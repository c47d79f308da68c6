#include "agent/obtain.hpp"

#include "agent/ca_session.hpp"
#include "agent/dns_context.hpp"
#include "agent/renewal_policy.hpp"
#include "util/log.hpp"

#include <algorithm>
#include <random>

namespace certpilot::agent {

namespace {

const util::Logger kLog("agent");

// RFC 9773 §4.3: "Clients SHOULD fetch a certificate's RenewalInfo immediately after issuance"
// (https://www.rfc-editor.org/rfc/rfc9773#section-4.3). A failure only costs the window: the
// lifetime rule still holds and the next check asks again.
std::optional<AriWindow> ari_window_of(acme::Client& client, const crypto::Certificate& leaf) {
  auto id = ari_certificate_id(leaf);
  if (!id) {
    kLog.warn("no renewal info for the new certificate", {{"serial", leaf.serial_hex()}, {"error", id.error().message}});
    return std::nullopt;
  }
  auto info = client.renewal_info(*id);
  if (!info) {
    kLog.warn("renewal info unavailable for the new certificate; using the lifetime rule",
              {{"serial", leaf.serial_hex()}, {"error", info.error().message}});
    return std::nullopt;
  }
  return AriWindow{info->window_start, info->window_end, info->retry_after};
}

}  // namespace

store::CertificateMeta fresh_meta(const std::string& name, const ObtainRequest& request, const Obtained& obtained,
                                  util::SysTime now, const std::optional<std::chrono::seconds>& renew_before) {
  const auto& leaf = obtained.issued.chain.leaf();
  store::CertificateMeta meta;
  meta.name = name;
  meta.domains = request.names;
  meta.ca_directory = request.ca.directory_url;
  meta.account_id = obtained.account_url;
  meta.issued_at = now;
  if (auto id = ari_certificate_id(leaf)) meta.ari_cert_id = *id;
  if (request.for_past_ari_window) meta.replaced_for_past_ari_window = now;
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  const auto decision = decide_renewal({leaf.not_before(), leaf.not_after(), meta.replaced_for_past_ari_window},
                                       obtained.ari_window, {}, now, u, PolicyOptions{renew_before});
  meta.renew_at = decision.renew_at;
  // With ARI, ask the CA again at its Retry-After (clamped), or soon when the first request failed,
  // rather than trusting only the lifetime rule.
  if (obtained.ari_available) {
    meta.next_check = std::min(decision.renew_at, decision.next_ari_poll.value_or(now + kDefaultAriPoll));
  } else {
    meta.next_check = decision.renew_at;
  }
  return meta;
}

util::Result<Obtained> obtain(const ObtainRequest& request, const store::Store& store) {
  CERTPILOT_TRY(auto dns, DnsContext::create(request.dns), "DNS");
  CERTPILOT_TRY(auto session, open_ca_session(request.ca, store, AccountMode::find_or_create), "CA");
  // After the account is open: RFC 8657 accounturi parameters are compared with its URL.
  if (auto caa = dns->check_caa(session.client->directory(), request.names, session.account.url); !caa) {
    return util::fail(std::move(caa).error());  // "CAA check for <name>: ..." says what failed
  }
  CERTPILOT_TRY_VOID(dns->check_zones(request.names), "DNS");
  CERTPILOT_TRY(auto key, crypto::PrivateKey::generate(request.key_type), "certificate key");
  acme::IssueRequest issue{request.names, key, request.ca.preferred_chain, {}, std::chrono::minutes(10)};
  issue.order.profile = request.ca.profile;
  const bool ari = session.client->directory().renewal_info.has_value();
  if (ari) issue.order.replaces = request.replaces;
  auto solver = dns->make_solver();
  CERTPILOT_TRY(auto issued, acme::obtain_certificate(*session.client, *solver, issue), "order");
  std::optional<AriWindow> window;
  if (ari) window = ari_window_of(*session.client, issued.chain.leaf());
  return Obtained{key, std::move(issued), session.account.url, ari, window};
}

}  // namespace certpilot::agent
