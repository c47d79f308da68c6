#pragma once
// One certificate from the CA, through DNS-01: the part `certpilot issue`, `renew` and the daemon
// share. Builds the DNS path first (a bad provider option fails before the CA sees a request),
// opens the account, checks CAA, orders and returns the verified key + chain. Writes nothing but
// the account (on first use).
#include <optional>
#include <string>
#include <vector>

#include "acme/issuance.hpp"
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
};

struct Obtained {
  crypto::PrivateKey key;
  acme::IssuedCertificate issued;
  std::string account_url;
  bool ari_available = false;  // the CA offers renewalInfo
};

util::Result<Obtained> obtain(const ObtainRequest& request, const store::Store& store);

}  // namespace certpilot::agent
