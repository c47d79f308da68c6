// Orders, authorizations, challenges, finalization, download, revocation, ARI (RFC 8555 §7.4-7.6,
// RFC 9773).
#include "acme/client.hpp"
#include "util/base64url.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace certpilot::acme {

using nlohmann::json;

namespace {
const util::Logger kLog("acme");

util::Error deadline_error(const std::string& what, const std::string& url, const std::string& status) {
  return {util::Errc::timeout, what + " " + url + " was still '" + status + "' when the deadline passed"};
}
}  // namespace

Result<Order> Client::new_order(const std::vector<std::string>& names, const NewOrderOptions& options) {
  json ids = json::array();
  for (const auto& n : names) ids.push_back({{"type", "dns"}, {"value", n}});
  json payload = {{"identifiers", ids}};
  if (options.replaces) payload["replaces"] = *options.replaces;
  if (options.profile) payload["profile"] = *options.profile;
  http::Response raw;
  CERTPILOT_TRY(auto doc, post_json(directory_.new_order, payload.dump(), &raw), "creating the order");
  const auto location = raw.header("location");
  if (!location) return util::fail(util::Errc::acme_problem, "newOrder: the CA sent no Location header for the order");
  CERTPILOT_TRY(auto order, parse_order(*location, doc), "newOrder");
  kLog.info("order created", {{"order", order.url}, {"names", util::join(names, ",")}, {"status", order.status}});
  return order;
}

Result<Order> Client::get_order(const std::string& url) {
  CERTPILOT_TRY(auto doc, post_json(url, ""), "fetching the order");
  return parse_order(url, doc);
}

Result<Authorization> Client::get_authorization(const std::string& url) {
  CERTPILOT_TRY(auto doc, post_json(url, ""), "fetching the authorization");
  return parse_authorization(url, doc);
}

Result<void> Client::respond_to_challenge(const Challenge& challenge) {
  // §7.5.1: an empty object tells the CA the challenge is ready.
  CERTPILOT_TRY(auto doc, post_json(challenge.url, "{}"), "answering the " + challenge.type + " challenge");
  (void)doc;
  return util::ok();
}

Result<void> Client::deactivate_authorization(const std::string& url) {
  // §7.5.2
  CERTPILOT_TRY(auto doc, post_json(url, R"({"status":"deactivated"})"), "deactivating the authorization");
  (void)doc;
  return util::ok();
}

Result<Authorization> Client::wait_authorization(const std::string& url, util::SysTime deadline) {
  for (int attempt = 0;; ++attempt) {
    http::Response raw;
    CERTPILOT_TRY(auto doc, post_json(url, "", &raw), "polling the authorization");
    CERTPILOT_TRY(auto authz, parse_authorization(url, doc), "polling the authorization");
    if (authz.status != "pending") return authz;
    if (options_.clock->now() >= deadline) return util::fail(deadline_error("authorization", url, authz.status));
    if (!options_.clock->sleep_for(poll_delay(raw, attempt, deadline))) {
      return util::fail(util::Errc::cancelled, "waiting for authorization " + url + ": cancelled");
    }
  }
}

Result<Order> Client::finalize_order(const Order& order, const std::string& csr_der) {
  json payload = {{"csr", util::base64url_encode(csr_der)}};
  CERTPILOT_TRY(auto doc, post_json(order.finalize, payload.dump()), "finalizing the order");
  return parse_order(order.url, doc);
}

Result<Order> Client::wait_order(const std::string& url, util::SysTime deadline) {
  for (int attempt = 0;; ++attempt) {
    http::Response raw;
    CERTPILOT_TRY(auto doc, post_json(url, "", &raw), "polling the order");
    CERTPILOT_TRY(auto order, parse_order(url, doc), "polling the order");
    if (order.status != "processing" && order.status != "pending") return order;
    if (options_.clock->now() >= deadline) return util::fail(deadline_error("order", url, order.status));
    if (!options_.clock->sleep_for(poll_delay(raw, attempt, deadline))) {
      return util::fail(util::Errc::cancelled, "waiting for order " + url + ": cancelled");
    }
  }
}

Result<CertificateDownload> Client::download_certificate(const std::string& url) {
  // §7.4.2: POST-as-GET with Accept: application/pem-certificate-chain; alternates in Link headers.
  CERTPILOT_TRY(auto resp, post(url, "", false, nullptr, {{"Accept", "application/pem-certificate-chain"}}),
                "downloading the certificate");
  CertificateDownload out;
  out.pem = std::move(resp.body);
  out.alternates = resp.links("alternate");
  return out;
}

Result<void> Client::revoke_certificate(const std::string& cert_der, std::optional<int> reason,
                                        const crypto::PrivateKey* cert_key) {
  json payload = {{"certificate", util::base64url_encode(cert_der)}};
  if (reason) payload["reason"] = *reason;
  // §7.6: revocation may be signed by the account (kid) or by the certificate's key (jwk).
  CERTPILOT_TRY(auto resp, post(directory_.revoke_cert, payload.dump(), cert_key != nullptr, cert_key),
                "revoking the certificate");
  (void)resp;
  return util::ok();
}

Result<RenewalInfo> Client::renewal_info(const std::string& cert_id) {
  if (!directory_.renewal_info) {
    return util::fail(util::Errc::not_found, "the CA offers no renewalInfo (ARI) endpoint");
  }
  std::string base = *directory_.renewal_info;
  if (!base.empty() && base.back() != '/') base.push_back('/');
  const std::string url = base + cert_id;
  // RFC 9773 §4.1: an unauthenticated GET.
  CERTPILOT_TRY(auto resp, http_->get(url), "fetching renewal info");
  if (resp.status != 200) {
    util::Error err = http_status_error(resp.status, resp.body);
    if (auto p = parse_problem(resp.body)) err = problem_error(*p, resp.retry_after(options_.clock->now()));
    return util::fail(std::move(err).wrapped("GET " + url));
  }
  const json doc = json::parse(resp.body, nullptr, false);
  CERTPILOT_TRY(auto info, parse_renewal_info(url, doc), "renewal info");
  info.retry_after = resp.retry_after(options_.clock->now());
  return info;
}

}  // namespace certpilot::acme
