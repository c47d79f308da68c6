#pragma once
// ACME resources (RFC 8555 §7.1) as the client uses them.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "acme/problem.hpp"
#include "util/result.hpp"
#include "util/clock.hpp"

namespace certpilot::acme {

struct Account {
  std::string url;  // the "kid"
  std::string status;
  std::vector<std::string> contact;
  std::optional<std::string> orders;
};

struct Identifier {
  std::string type = "dns";
  std::string value;
};

struct Challenge {
  std::string type;
  std::string url;
  std::string token;
  std::string status;
  std::optional<Problem> error;
};

struct Authorization {
  std::string url;
  std::string status;  // pending, valid, invalid, deactivated, expired, revoked
  Identifier identifier;
  bool wildcard = false;
  std::vector<Challenge> challenges;
  std::optional<util::SysTime> expires;
  const Challenge* find_challenge(const std::string& type) const;
  // "*.example.test" for wildcard authorizations, the identifier otherwise.
  std::string display_name() const { return wildcard ? "*." + identifier.value : identifier.value; }
};

struct Order {
  std::string url;
  std::string status;  // pending, ready, processing, valid, invalid
  std::vector<Identifier> identifiers;
  std::vector<std::string> authorizations;
  std::string finalize;
  std::optional<std::string> certificate;
  std::optional<Problem> error;
  std::optional<std::string> replaces;
  std::optional<std::string> profile;
};

struct RenewalInfo {
  util::SysTime window_start;
  util::SysTime window_end;
  std::optional<std::string> explanation_url;
  std::optional<std::chrono::seconds> retry_after;
};

struct CertificateDownload {
  std::string pem;                      // application/pem-certificate-chain
  std::vector<std::string> alternates;  // Link rel="alternate" URLs (RFC 8555 §7.4.2)
};

// Parsers: errors name the resource URL and the field that is missing or malformed.
util::Result<Account> parse_account(const std::string& url, const nlohmann::json& doc);
util::Result<Order> parse_order(const std::string& url, const nlohmann::json& doc);
util::Result<Authorization> parse_authorization(const std::string& url, const nlohmann::json& doc);
util::Result<RenewalInfo> parse_renewal_info(const std::string& url, const nlohmann::json& doc);

}  // namespace certpilot::acme
