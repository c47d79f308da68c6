#include "agent/obtain.hpp"

#include "agent/ca_session.hpp"
#include "agent/dns_context.hpp"

namespace certpilot::agent {

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
