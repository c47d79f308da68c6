#include "dns/cloudflare/cloudflare_provider.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "dns/detail/json_fields.hpp"
#include "dns/wire/message.hpp"
#include "dns/zone.hpp"
#include "http/client.hpp"
#include "util/log.hpp"
#include "util/redact.hpp"
#include "util/strings.hpp"

namespace certpilot::dns {

using nlohmann::json;
using util::Errc;
using util::fail;

namespace {

const util::Logger kLog("dns");

std::string url_escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// Cloudflare's envelope: {"success": bool, "errors": [{"code": n, "message": "..."}], "result": ...}.
// Server text is scrubbed of the token before it is cut or quoted: a server or proxy that echoes the
// request would otherwise put "Bearer <token>" into the message, logs and meta.json.
// Every HTTP failure is Errc::dns (exit 1: "DNS provider"): a refused token too, since
// Errc::unauthorized means the CA refused us (exit 5), and a 429 too, since Errc::rate_limited is the
// CA's rate limit (exit 6). 404 stays not_found (also exit 1): cleanup treats a gone record as done.
Result<json> envelope(const http::Response& r, const std::string& what, const util::SecretString& token) {
  const std::string status = std::to_string(r.status);
  auto j = json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return fail(Errc::dns, what + ": " + r.url + " answered " + status + " without a JSON envelope: " +
                               util::printable_excerpt(util::redact(r.body, token), 120));
  }
  if (detail::bool_or(j, "success", false) && r.status < 300) return j;
  std::vector<std::string> errors;
  if (j.contains("errors") && j["errors"].is_array()) {
    for (const auto& e : j["errors"]) {
      if (!e.is_object()) continue;
      errors.push_back(std::to_string(detail::int_or(e, "code", 0)) + " " +
                       util::printable_excerpt(util::redact(detail::str_or(e, "message"), token), 150));
    }
  }
  const std::string detail = errors.empty() ? std::string("no error detail") : util::join(errors, "; ");
  if (r.status == 401 || r.status == 403) {
    return fail(Errc::dns, what + ": " + r.url + " refused the API token (HTTP " + status + "): " + detail +
                               "; check api-token-file or api-token-env, and that the token has Zone:DNS:Edit");
  }
  const Errc code = r.status == 404 ? Errc::not_found : Errc::dns;
  const std::string hint = r.status == 429 ? " (rate limited by the Cloudflare API)" : "";
  util::Error err(code, what + ": " + r.url + " answered " + status + ": " + detail + hint);
  // The daemon waits at least this long before it tries the certificate again.
  if (r.status == 429 || r.status == 503) err.retry_after = r.retry_after(std::chrono::system_clock::now());
  return fail(std::move(err));
}

// Cloudflare may show TXT content with or without the zone-file quotes.
std::string bare(const std::string& content) {
  if (content.size() >= 2 && content.front() == '"' && content.back() == '"') return content.substr(1, content.size() - 2);
  return content;
}

}  // namespace

CloudflareProvider::CloudflareProvider(CloudflareConfig config, std::unique_ptr<http::HttpClient> http)
    : config_(std::move(config)), http_(std::move(http)) {}
CloudflareProvider::~CloudflareProvider() = default;

Result<std::unique_ptr<CloudflareProvider>> CloudflareProvider::create(CloudflareConfig config) {
  if (auto u = check_http_url("cloudflare", "api-url", config.api_url, "https://api.cloudflare.com/client/v4"); !u) {
    return fail(u.error());
  }
  if (config.api_token.empty()) return fail(Errc::invalid_input, "cloudflare: the API token is empty");
  if (config.timeout.count() < 1) {
    return fail(Errc::invalid_input, "cloudflare: timeout must be at least 1 second (e.g. --dns-opt timeout=30)");
  }
  while (!config.api_url.empty() && config.api_url.back() == '/') config.api_url.pop_back();
  http::HttpOptions ho;
  ho.ca_bundle = config.ca_bundle;
  ho.request_timeout = config.timeout;
  CERTPILOT_TRY(auto client, http::HttpClient::create(ho), "cloudflare");
  return std::unique_ptr<CloudflareProvider>(new CloudflareProvider(std::move(config), std::move(client)));
}

Result<json> CloudflareProvider::call(const std::string& method, const std::string& path, const std::string& body,
                                      const std::string& what) {
  http::Request req;
  req.method = method;
  req.url = config_.api_url + path;
  req.headers = {{"Authorization", "Bearer " + config_.api_token.reveal()}};
  if (!body.empty()) req.headers.push_back({"Content-Type", "application/json"});
  req.body = body;
  auto r = http_->send(req);
  if (!r) return fail(r.error().wrapped(what));
  return envelope(*r, what, config_.api_token);
}

Result<std::string> CloudflareProvider::zone_id_for(const TxtRecord& record) {
  if (!config_.zone_id.empty()) return config_.zone_id;
  // The zone is the longest name, from the record's zone or climbing from the fqdn, that
  // Cloudflare knows: the API answers an empty list for names that are not zones.
  std::vector<std::string> candidates;
  if (!record.zone.empty()) {
    candidates.push_back(wire::canonical_name(record.zone));
  } else {
    for (std::string n = parent_name(record.fqdn); n.find('.') != std::string::npos; n = parent_name(n)) candidates.push_back(n);
  }
  for (const auto& zone : candidates) {
    auto j = call("GET", "/zones?name=" + url_escape(zone), "", "looking up zone " + zone);
    if (!j) return fail(j.error());
    const json& result = (*j)["result"];
    if (result.is_array() && !result.empty() && result[0].is_object() && result[0].contains("id") && result[0]["id"].is_string()) {
      return result[0]["id"].get<std::string>();
    }
  }
  return fail(Errc::not_found, "no zone of this account contains " + record.fqdn + " (tried " +
                                   util::join(candidates, ", ") + ")");
}

Result<std::vector<std::string>> CloudflareProvider::find_records(const std::string& zone_id, const TxtRecord& record) {
  auto j = call("GET",
                "/zones/" + url_escape(zone_id) + "/dns_records?type=TXT&per_page=100&name=" +
                    url_escape(wire::canonical_name(record.fqdn)),
                "", "listing TXT " + record.fqdn);
  if (!j) return fail(j.error());
  std::vector<std::string> ids;
  const json& result = (*j)["result"];
  if (!result.is_array()) return ids;
  for (const auto& rec : result) {
    if (!rec.is_object() || !rec.contains("id") || !rec["id"].is_string()) continue;
    if (bare(detail::str_or(rec, "content")) == record.value && wire::same_name(detail::str_or(rec, "name"), record.fqdn)) {
      ids.push_back(rec["id"].get<std::string>());
    }
  }
  return ids;
}

// Errors name the API call and URL; the solver adds "cloudflare: adding TXT <fqdn>" in front.
Result<void> CloudflareProvider::present(const TxtRecord& record) {
  auto found = zone_id_for(record);  // its errors name the zones tried
  if (!found) return fail(found.error());
  const std::string& zone_id = *found;
  auto existing = find_records(zone_id, record);  // its errors say what and where
  if (!existing) return fail(existing.error());
  if (!existing->empty()) return util::ok();  // already there: one copy is enough
  // Cloudflare's minimum TTL is 60 (1 means "automatic").
  const json body{{"type", "TXT"},
                  {"name", wire::canonical_name(record.fqdn)},
                  {"content", record.value},
                  {"ttl", std::max<long long>(60, record.ttl.count())}};
  auto created = call("POST", "/zones/" + url_escape(zone_id) + "/dns_records", body.dump(), "creating the record");
  if (!created) return fail(created.error());
  // Debug: the solver logs each record at info; this line adds the zone id.
  kLog.debug("TXT record presented", {{"provider", "cloudflare"}, {"fqdn", record.fqdn}, {"zone-id", zone_id}});
  return util::ok();
}

Result<void> CloudflareProvider::cleanup(const TxtRecord& record) {
  auto found = zone_id_for(record);  // its errors name the zones tried
  if (!found) return fail(found.error());
  const std::string& zone_id = *found;
  auto ids = find_records(zone_id, record);  // its errors say what and where
  if (!ids) return fail(ids.error());
  for (const auto& id : *ids) {
    auto deleted = call("DELETE", "/zones/" + url_escape(zone_id) + "/dns_records/" + url_escape(id), "", "deleting record " + id);
    // Gone already (someone else cleaned up): the goal is reached.
    if (!deleted && deleted.error().code != Errc::not_found) return fail(deleted.error());
  }
  // Debug: the solver logs each record at info; this line adds how many copies were deleted.
  kLog.debug("TXT record removed", {{"provider", "cloudflare"}, {"fqdn", record.fqdn}, {"deleted", ids->size()}});
  return util::ok();
}

Result<ProviderPtr> make_cloudflare_provider(const ProviderOptions& opts, const SecretReader& secrets) {
  if (auto k = check_option_keys("cloudflare", opts, kCloudflareOptions);
      !k) {
    return fail(k.error());
  }
  CloudflareConfig c;
  c.api_url = option_or(opts, "api-url", c.api_url);
  c.zone_id = option_or(opts, "zone-id", "");
  c.ca_bundle = option_or(opts, "ca-bundle", "");
  CERTPILOT_TRY(c.timeout, timeout_option(opts, c.timeout), "cloudflare");
  auto token = load_secret("cloudflare", opts, "api-token", secrets);
  if (!token) return fail(token.error());
  c.api_token = std::move(*token);
  auto p = CloudflareProvider::create(std::move(c));
  if (!p) return fail(p.error());
  return ProviderPtr(std::move(*p));
}

}  // namespace certpilot::dns
