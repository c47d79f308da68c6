#pragma once
// Cloudflare API v4 (https://developers.cloudflare.com/api/resources/dns/subresources/records/):
// zone lookup by name (GET /zones?name=), list/create/delete TXT records, API token as a Bearer.
// Cloudflare keeps one record per value, so present creates ours only when it is not there yet
// (a second identical one would be refused with code 81058), and cleanup deletes exactly the
// records whose content is our value.
//
// --dns-opt keys (make_cloudflare_provider):
//   api-url          default https://api.cloudflare.com/client/v4 (tests: a loopback server); http(s) only
//   api-token-file / api-token-env   an API token with Zone:DNS:Edit (exactly one)
//   zone-id          skip the zone lookup (then the token needs no Zone:Read)
//   ca-bundle        PEM roots for the API (default: the system store)
//   timeout          seconds per request (default 30, at least 1)
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "dns/provider.hpp"
#include "dns/provider_options.hpp"
#include "util/secret.hpp"

#include <nlohmann/json_fwd.hpp>

namespace certpilot::http {
class HttpClient;
}  // namespace certpilot::http

namespace certpilot::dns {

struct CloudflareConfig {
  std::string api_url = "https://api.cloudflare.com/client/v4";
  util::SecretString api_token;
  std::string zone_id;  // optional
  std::string ca_bundle;
  std::chrono::seconds timeout{30};
};

// Not thread-safe (one HTTP connection): one provider per order/worker.
class CloudflareProvider final : public Provider {
 public:
  static Result<std::unique_ptr<CloudflareProvider>> create(CloudflareConfig config);
  ~CloudflareProvider() override;

  std::string_view name() const override { return "cloudflare"; }
  Result<void> present(const TxtRecord& record) override;
  Result<void> cleanup(const TxtRecord& record) override;

 private:
  CloudflareProvider(CloudflareConfig config, std::unique_ptr<http::HttpClient> http);
  Result<std::string> zone_id_for(const TxtRecord& record);
  // The ids of the TXT records at fqdn whose content is value.
  Result<std::vector<std::string>> find_records(const std::string& zone_id, const TxtRecord& record);
  // One API call; the envelope's result on success, else an error with Cloudflare's codes.
  Result<nlohmann::json> call(const std::string& method, const std::string& path, const std::string& body,
                              const std::string& what);
  CloudflareConfig config_;
  std::unique_ptr<http::HttpClient> http_;
};

// The options make_cloudflare_provider accepts (config checks use them too).
inline const std::vector<std::string> kCloudflareOptions{"api-url", "api-token-file", "api-token-env", "zone-id",
                                                         "ca-bundle", "timeout"};
Result<ProviderPtr> make_cloudflare_provider(const ProviderOptions& opts, const SecretReader& secrets);

}  // namespace certpilot::dns
