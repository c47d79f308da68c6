#pragma once
// The one thing acme/ asks of whoever proves control of names: make these DNS-01 values visible,
// then take them away. acme/ knows nothing about DNS providers; dns::Dns01Solver implements this.
#include <string>
#include <vector>

#include "util/result.hpp"

namespace certpilot::acme {

struct Dns01Challenge {
  std::string identifier;  // the name as ordered, without "*." (RFC 8555 §7.1.4)
  bool wildcard = false;   // the authorization was for "*.<identifier>"
  std::string token;
  std::string key_authorization;  // token "." thumbprint (RFC 8555 §8.1)
  std::string txt_value;          // base64url(SHA-256(key_authorization)) (RFC 8555 §8.4)
  std::string record_name() const { return "_acme-challenge." + identifier; }
};

class ChallengeSolver {
 public:
  virtual ~ChallengeSolver() = default;
  // Presents every value of an order and returns once they are visible where the CA will look
  // (propagation). Presenting all before validating any lets one propagation wait cover them all.
  // On failure, what was presented so far is still removed by cleanup().
  [[nodiscard]] virtual util::Result<void> present(const std::vector<Dns01Challenge>& challenges) = 0;
  // Removes every value present() added, whatever happened in between; idempotent. Errors are
  // returned for reporting; the caller never retries the order because of them.
  [[nodiscard]] virtual util::Result<void> cleanup(const std::vector<Dns01Challenge>& challenges) = 0;
};

}  // namespace certpilot::acme
