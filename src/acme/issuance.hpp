#pragma once
// One certificate, start to finish: order, DNS-01 for every pending authorization, finalize,
// download, chain choice, and checks of what came back. Everything presented is cleaned up and
// every authorization left pending is deactivated, whatever happens.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "acme/challenge_solver.hpp"
#include "acme/client.hpp"
#include "crypto/certificate.hpp"

namespace certpilot::acme {

struct IssueRequest {
  std::vector<std::string> names;  // normalized: lowercase, no trailing dot; "*.x" for wildcards
  crypto::PrivateKey cert_key;
  std::optional<std::string> preferred_chain;  // issuer CN at the top of the wanted chain
  NewOrderOptions order;
  std::chrono::seconds timeout{std::chrono::minutes(10)};  // validation + finalization
};

struct IssuedCertificate {
  crypto::CertificateChain chain;
  std::string order_url;
  std::string certificate_url;
  bool preferred_chain_found = true;
};

// The key authorization (RFC 8555 §8.1) and its DNS-01 TXT value (§8.4).
std::string key_authorization(const std::string& token, const crypto::PrivateKey& account_key);
std::string dns01_txt_value(const std::string& key_authorization);

Result<IssuedCertificate> obtain_certificate(Client& client, ChallengeSolver& solver, const IssueRequest& request);

}  // namespace certpilot::acme
