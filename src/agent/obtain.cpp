#include "agent/obtain.hpp"

#include "agent/ca_session.hpp"
#include "agent/dns_context.hpp"
#include "agent/renewal_policy.hpp"

#include <algorithm>
#include <random>

namespace certpilot::agent {

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
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  const auto decision = decide_renewal({leaf.not_before(), leaf.not_after()}, std::nullopt, {}, now, u,
                                       PolicyOptions{renew_before});
  meta.renew_at = decision.renew_at;
  // With ARI, ask the CA again soon rather than trusting only the lifetime rule.
  meta.next_check = obtained.ari_available ? std::min(decision.renew_at, now + kDefaultAriPoll) : decision.renew_at;
  return meta;
}

util::Result<Obtained> obtain(const ObtainRequest& request, const store::Store& store) {
  CERTPILOT_TRY(auto dns, DnsContext::create(request.dns), "DNS");
  CERTPILOT_TRY(auto session, open_ca_session(request.ca, store, AccountMode::find_or_create), "CA");
  CERTPILOT_TRY_VOID(dns->check_caa(session.client->directory(), request.names), "CAA");
  CERTPILOT_TRY(auto key, crypto::PrivateKey::generate(request.key_type), "certificate key");
  acme::IssueRequest issue{request.names, key, request.ca.preferred_chain, {}, std::chrono::minutes(10)};
  issue.order.profile = request.ca.profile;
  const bool ari = session.client->directory().renewal_info.has_value();
  if (ari) issue.order.replaces = request.replaces;
  auto solver = dns->make_solver();
  CERTPILOT_TRY(auto issued, acme::obtain_certificate(*session.client, *solver, issue), "order");
  return Obtained{key, std::move(issued), session.account.url, ari};
}

}  // namespace certpilot::agent
