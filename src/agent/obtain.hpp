#pragma once
// One certificate from the CA, through DNS-01: the part `certpilot issue`, `renew` and the daemon
// share. Builds the DNS path first (a bad provider option fails before the CA sees a request),
// opens the account, checks CAA, orders and returns the verified key + chain. Writes nothing but
// the account (on first use).
#include <optional>
#include <string>
#include <vector>

#include "acme/issuance.hpp"
#include "agent/renewal_policy.hpp"
#include "agent/settings.hpp"
#include "crypto/key.hpp"
#include "store/store.hpp"

namespace certpilot::agent {

struct ObtainRequest {
  std::vector<std::string> names;  // normalized
  crypto::KeyType key_type = crypto::KeyType::ec_p256;
  CaSettings ca;
  DnsSettings dns;
  std::optional<std::string> replaces;  // ARI id of the certificate this one replaces (RFC 9773 §5)
  bool for_past_ari_window = false;     // ordered because the CA's window for the old one had passed
};

struct Obtained {
  crypto::PrivateKey key;
  acme::IssuedCertificate issued;
  std::string account_url;
  bool ari_available = false;  // the CA offers renewalInfo
  // The CA's renewal window for the new certificate, fetched right after issuance (RFC 9773 §4.3);
  // nullopt without ARI or when that request failed (logged).
  std::optional<AriWindow> ari_window;
};

util::Result<Obtained> obtain(const ObtainRequest& request, const store::Store& store);

// meta.json facts for a freshly obtained certificate (the store fills serial, validity, key type),
// with the renewal time chosen by the policy (inside obtained.ari_window when there is one) and the
// next check at the ARI poll time; renewal state (failures) starts empty.
store::CertificateMeta fresh_meta(const std::string& name, const ObtainRequest& request, const Obtained& obtained,
                                  util::SysTime now, const std::optional<std::chrono::seconds>& renew_before);

}  // namespace certpilot::agent
