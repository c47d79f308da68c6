#pragma once
// A DNS provider is two verbs: put a TXT value at a name, and take exactly that value away.
// Providers never see the account key: they get the final TXT value only.
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace certpilot::dns {

using util::Result;

struct TxtRecord {
  std::string zone;   // the zone the record goes in, "example.test." style without the dot: "example.test"
                      // (may be empty when the provider finds the zone itself)
  std::string fqdn;   // "_acme-challenge.www.example.test" (no trailing dot)
  std::string value;  // the TXT value, unquoted
  std::chrono::seconds ttl{60};
};

class Provider {
 public:
  virtual ~Provider() = default;
  // "rfc2136", "exec", ...: prefixes every error from this provider.
  virtual std::string_view name() const = 0;
  // Adds value at fqdn, keeping other values there; presenting the same value twice leaves one copy.
  [[nodiscard]] virtual Result<void> present(const TxtRecord& record) = 0;
  // Removes exactly this value, never another client's; removing a value that is not there is fine.
  [[nodiscard]] virtual Result<void> cleanup(const TxtRecord& record) = 0;
};

using ProviderPtr = std::unique_ptr<Provider>;

}  // namespace certpilot::dns
