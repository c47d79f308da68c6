#pragma once
// PowerDNS Authoritative HTTP API (https://doc.powerdns.com/authoritative/http-api/zone.html):
// PATCH /api/v1/servers/<server-id>/zones/<zone> with an rrset change, authenticated by X-API-Key.
// The API replaces a whole rrset, so present/cleanup read the TXT rrset first and write it back
// with our value added or removed: other clients' values at the same name stay. The read and the
// write are two requests (the API has no per-record change): a client changing the same name at
// the same instant could lose its value; ACME clients rarely do, and lego's pdns provider has the
// same window.
//
// --dns-opt keys (make_pdns_provider):
//   api-url      http(s)://host:port of the PowerDNS webserver (required; "/api/v1" is added;
//                another scheme is refused at creation)
//   server-id    default "localhost"
//   api-key-file / api-key-env   the X-API-Key value (exactly one)
//   zone         the zone to write in (default: the zone the solver found, else the longest
//                zone of the server that contains the name)
//   ca-bundle    PEM roots for an https api-url (default: the system store)
//   timeout      seconds per request (default 30, at least 1)
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "dns/provider.hpp"
#include "dns/provider_options.hpp"
#include "util/secret.hpp"

namespace certpilot::http {
class HttpClient;
}

namespace certpilot::dns {

struct PdnsConfig {
  std::string api_url;  // "http://127.0.0.1:8081"
  std::string server_id = "localhost";
  util::SecretString api_key;
  std::string zone;  // optional
  std::string ca_bundle;
  std::chrono::seconds timeout{30};
};

// Not thread-safe (one HTTP connection): one provider per order/worker.
class PdnsProvider final : public Provider {
 public:
  static Result<std::unique_ptr<PdnsProvider>> create(PdnsConfig config);
  ~PdnsProvider() override;

  std::string_view name() const override { return "pdns"; }
  Result<void> present(const TxtRecord& record) override;
  Result<void> cleanup(const TxtRecord& record) override;

 private:
  PdnsProvider(PdnsConfig config, std::unique_ptr<http::HttpClient> http);
  Result<std::string> zone_for(const TxtRecord& record);
  Result<void> change(const TxtRecord& record, bool add);
  PdnsConfig config_;
  std::unique_ptr<http::HttpClient> http_;
};

// The options make_pdns_provider accepts (config checks use them too).
inline const std::vector<std::string> kPdnsOptions{"api-url", "server-id", "api-key-file", "api-key-env", "zone",
                                                   "ca-bundle", "timeout"};
Result<ProviderPtr> make_pdns_provider(const ProviderOptions& opts, const SecretReader& secrets);

// PowerDNS writes TXT content in zone-file form ("\"a\" \"b\""): the joined value, or nullopt.
std::optional<std::string> unquote_txt_content(const std::string& content);
// The zone-file form of a value, split into 255-byte strings, '"' and '\\' escaped.
std::string quote_txt_content(const std::string& value);

}  // namespace certpilot::dns
