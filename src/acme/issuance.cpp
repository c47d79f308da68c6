#include "acme/issuance.hpp"

#include <algorithm>

#include "crypto/csr.hpp"
#include "util/base64url.hpp"
#include "util/cancel.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace certpilot::acme {

namespace {

const util::Logger kLog("acme");

// One authorization that still needs its DNS-01 challenge answered.
struct PendingAuthz {
  Authorization authz;
  Challenge challenge;
};

util::Error challenge_failure(const Authorization& authz) {
  for (const auto& c : authz.challenges) {
    if (c.type == "dns-01" && c.error) {
      auto err = problem_error(*c.error, std::nullopt);
      return std::move(err).wrapped("validation of " + authz.display_name() + " failed (" + authz.url + ")");
    }
  }
  if (authz.status == "invalid") {
    return {util::Errc::unauthorized, "validation of " + authz.display_name() + " failed (" + authz.url + ")"};
  }
  // deactivated, expired, revoked: nothing was validated; a new order starts afresh.
  return {util::Errc::acme_problem, "authorization for " + authz.display_name() + " is '" + authz.status +
                                        "' (" + authz.url + "); the order cannot complete, run again"};
}

// The order's own problem document when it has one, else what state it was left in.
util::Error order_error(const Order& order, const std::string& state_text) {
  if (order.error) return problem_error(*order.error, std::nullopt).wrapped("order " + order.url);
  return {util::Errc::acme_problem, "order " + order.url + " " + state_text};
}

// Fills `pending` as it goes, so the caller can deactivate what was collected when a later
// authorization fails.
Result<void> collect_pending(Client& client, const Order& order, std::vector<PendingAuthz>& pending) {
  for (const auto& url : order.authorizations) {
    CERTPILOT_TRY(auto authz, client.get_authorization(url), "order " + order.url);
    if (authz.status == "valid") {
      // CAs reuse recent authorizations (RFC 8555 §7.1.4): nothing to prove.
      kLog.info("authorization already valid", {{"name", authz.display_name()}});
      continue;
    }
    if (authz.status != "pending") {
      return util::fail(challenge_failure(authz));
    }
    const Challenge* dns = authz.find_challenge("dns-01");
    if (dns == nullptr) {
      std::vector<std::string> offered;
      for (const auto& c : authz.challenges) offered.push_back(c.type);
      return util::fail(util::Errc::acme_problem, "the CA offers no dns-01 challenge for " + authz.display_name() +
                                                      " (offered: " + util::join(offered, ", ") + ")");
    }
    pending.push_back({authz, *dns});
  }
  return util::ok();
}

void deactivate_pending(Client& client, const std::vector<PendingAuthz>& pending) {
  const util::CancelShield shield;
  for (const auto& p : pending) {
    auto authz = client.get_authorization(p.authz.url);
    if (authz && authz->status != "pending") continue;
    if (auto r = client.deactivate_authorization(p.authz.url); !r) {
      kLog.warn("could not deactivate authorization", {{"authz", p.authz.url}, {"error", r.error().message}});
    } else {
      kLog.info("deactivated pending authorization", {{"name", p.authz.display_name()}});
    }
  }
}

std::vector<Dns01Challenge> challenges_of(const std::vector<PendingAuthz>& pending, const crypto::PrivateKey& key) {
  std::vector<Dns01Challenge> challenges;
  for (const auto& p : pending) {
    Dns01Challenge c;
    c.identifier = p.authz.identifier.value;
    c.wildcard = p.authz.wildcard;
    c.token = p.challenge.token;
    c.key_authorization = key_authorization(p.challenge.token, key);
    c.txt_value = dns01_txt_value(c.key_authorization);
    challenges.push_back(std::move(c));
  }
  return challenges;
}

// Presents every value, answers every challenge and waits for every authorization.
Result<void> validate(Client& client, ChallengeSolver& solver, const std::vector<PendingAuthz>& pending,
                      const std::vector<Dns01Challenge>& challenges, util::SysTime deadline) {
  CERTPILOT_TRY_VOID(solver.present(challenges), "DNS-01");
  for (const auto& p : pending) {
    CERTPILOT_TRY_VOID(client.respond_to_challenge(p.challenge), p.authz.display_name());
  }
  for (const auto& p : pending) {
    CERTPILOT_TRY(auto authz, client.wait_authorization(p.authz.url, deadline), p.authz.display_name());
    if (authz.status != "valid") return util::fail(challenge_failure(authz));
    kLog.info("authorization valid", {{"name", authz.display_name()}});
  }
  return util::ok();
}

Result<crypto::CertificateChain> choose_chain(Client& client, const CertificateDownload& primary,
                                              const IssueRequest& request, bool* found) {
  CERTPILOT_TRY(auto chain, crypto::CertificateChain::from_pem(primary.pem), "the certificate the CA sent");
  *found = true;
  if (!request.preferred_chain || util::iequals(chain.top_issuer_cn(), *request.preferred_chain)) return chain;
  // Every name on offer, so the warning below says what --preferred-chain could have been.
  std::vector<std::string> offered = {chain.top_issuer_cn()};
  for (const auto& url : primary.alternates) {
    auto alt = client.download_certificate(url);
    if (!alt) {
      kLog.warn("could not fetch an alternate chain", {{"url", url}, {"error", alt.error().message}});
      continue;
    }
    auto alt_chain = crypto::CertificateChain::from_pem(alt->pem);
    if (alt_chain && util::iequals(alt_chain->top_issuer_cn(), *request.preferred_chain)) {
      kLog.info("using preferred chain", {{"issuer", alt_chain->top_issuer_cn()}});
      return std::move(*alt_chain);
    }
    if (alt_chain) offered.push_back(alt_chain->top_issuer_cn());
  }
  *found = false;
  kLog.warn("preferred chain not offered; using the default chain",
            {{"preferred", *request.preferred_chain}, {"default_top_issuer", chain.top_issuer_cn()},
             {"offered", "\"" + util::join(offered, "\", \"") + "\""}});
  return chain;
}

Result<void> check_issued(const crypto::CertificateChain& chain, const IssueRequest& request) {
  if (auto why = chain.mismatch(request.cert_key, request.names); !why.empty()) {
    return util::fail(util::Errc::acme_problem, "the CA's answer: " + why + "; not saving it");
  }
  return util::ok();
}

}  // namespace

std::string key_authorization(const std::string& token, const crypto::PrivateKey& account_key) {
  return token + "." + account_key.jwk_thumbprint();
}

std::string dns01_txt_value(const std::string& key_authorization) {
  return util::base64url_encode(crypto::sha256(key_authorization));
}

Result<IssuedCertificate> obtain_certificate(Client& client, ChallengeSolver& solver, const IssueRequest& request) {
  if (!client.account_key()) return util::fail(util::Errc::internal, "obtain_certificate: no account set");
  const auto deadline = client.clock().now() + request.timeout;
  auto order = client.new_order(request.names, request.order);
  if (!order && request.order.replaces && order.error().acme_type == std::string(kAcmeErrorPrefix) + "alreadyReplaced") {
    // RFC 9773 §5: the certificate was already replaced (by us, before a crash): order afresh.
    kLog.info("certificate already replaced; ordering without 'replaces'");
    NewOrderOptions plain = request.order;
    plain.replaces.reset();
    order = client.new_order(request.names, plain);
  }
  if (!order) return util::fail(order.error());
  if (order->status == "invalid") {
    return util::fail(order_error(*order, "is invalid"));
  }
  std::vector<PendingAuthz> pending;
  if (auto r = collect_pending(client, *order, pending); !r) {
    deactivate_pending(client, pending);
    return util::fail(r.error().wrapped("authorizations"));
  }
  if (!pending.empty()) {
    const auto challenges = challenges_of(pending, *client.account_key());
    auto validated = validate(client, solver, pending, challenges, deadline);
    // Deactivate before the records come off: a record removed while the CA still validates would
    // fail the authorization instead of leaving it deactivated.
    if (!validated) deactivate_pending(client, pending);
    // Every record comes off on both paths. The solver reports only records it wrote and could
    // not remove; they follow the order's own error, which comes first.
    auto cleaned = solver.cleanup(challenges);
    if (!validated) {
      util::Error err = validated.error();
      if (!cleaned) err.details.push_back("DNS clean-up: " + cleaned.error().describe());
      return util::fail(std::move(err));
    }
    if (!cleaned) kLog.error("DNS clean-up failed", {{"error", cleaned.error().describe()}});
  }
  CERTPILOT_TRY(auto ready, client.wait_order(order->url, deadline), "waiting for the order to be ready");
  if (ready.status != "ready" && ready.status != "valid") {
    return util::fail(order_error(ready, "is '" + ready.status + "'"));
  }
  if (ready.status == "ready") {
    CERTPILOT_TRY(auto csr, crypto::make_csr_der(request.cert_key, request.names), "building the CSR");
    CERTPILOT_TRY(auto finalized, client.finalize_order(ready, csr), "order " + ready.url);
    CERTPILOT_TRY(ready, client.wait_order(order->url, deadline), "waiting for the certificate");
    (void)finalized;
  }
  if (ready.status != "valid" || !ready.certificate) {
    return util::fail(order_error(ready, "ended '" + ready.status + "' without a certificate"));
  }
  CERTPILOT_TRY(auto download, client.download_certificate(*ready.certificate), "order " + ready.url);
  bool found = true;
  CERTPILOT_TRY(auto chain, choose_chain(client, download, request, &found), "certificate");
  CERTPILOT_TRY_VOID(check_issued(chain, request), "certificate");
  kLog.info("certificate issued", {{"serial", chain.leaf().serial_hex()}, {"names", util::join(request.names, ",")}});
  return IssuedCertificate{std::move(chain), ready.url, *ready.certificate, found};
}

}  // namespace certpilot::acme
