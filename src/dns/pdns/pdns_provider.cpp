#include "dns/pdns/pdns_provider.hpp"

#include <algorithm>
#include <chrono>

#include <nlohmann/json.hpp>

#include "dns/detail/json_fields.hpp"
#include "dns/wire/message.hpp"
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
constexpr const char* kExampleUrl = "http://127.0.0.1:8081";

std::string fqdn_dot(const std::string& name) { return wire::canonical_name(name) + "."; }

// "what: <url> answered 404: Could not find domain 'x.'" from PowerDNS's {"error": "..."} body.
// The body is scrubbed of the key before it is cut or quoted: a server or proxy that echoes the
// request would otherwise put X-API-Key into the message, and from there into logs and meta.json.
// Every HTTP failure is Errc::dns (exit 1: "DNS provider"), a refused key included: Errc::unauthorized
// means the CA refused us (exit 5). 404 stays not_found (also exit 1) so callers can tell "no such zone".
util::Error api_error(const http::Response& r, const std::string& what, const util::SecretString& key) {
  std::string detail = util::printable_excerpt(util::redact(r.body, key), 200);
  auto j = json::parse(r.body, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j.contains("error") && j["error"].is_string()) {
    detail = util::printable_excerpt(util::redact(j["error"].get<std::string>(), key), 200);
  }
  const std::string status = std::to_string(r.status);
  if (r.status == 401 || r.status == 403) {
    return util::Error(Errc::dns, what + ": " + r.url + " refused the API key (HTTP " + status + "): " + detail +
                                      "; check api-key-file or api-key-env");
  }
  const Errc code = r.status == 404 ? Errc::not_found : Errc::dns;
  util::Error err(code, what + ": " + r.url + " answered " + status + ": " + detail);
  // The daemon waits at least this long before it tries the certificate again.
  if (r.status == 429 || r.status == 503) err.retry_after = r.retry_after(std::chrono::system_clock::now());
  return err;
}

}  // namespace

std::optional<std::string> unquote_txt_content(const std::string& content) {
  std::string out;
  std::size_t i = 0;
  bool any = false;
  while (i < content.size()) {
    if (content[i] == ' ' || content[i] == '\t') {
      ++i;
      continue;
    }
    if (content[i] != '"') return std::nullopt;
    any = true;
    ++i;
    for (;;) {
      if (i >= content.size()) return std::nullopt;
      const char c = content[i++];
      if (c == '"') break;
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (i >= content.size()) return std::nullopt;
      if (i + 2 < content.size() && std::isdigit(static_cast<unsigned char>(content[i])) &&
          std::isdigit(static_cast<unsigned char>(content[i + 1])) && std::isdigit(static_cast<unsigned char>(content[i + 2]))) {
        out.push_back(static_cast<char>(std::stoi(content.substr(i, 3))));
        i += 3;
      } else {
        out.push_back(content[i++]);
      }
    }
  }
  if (!any) return std::nullopt;
  return out;
}

std::string quote_txt_content(const std::string& value) {
  std::string out;
  std::size_t i = 0;
  do {
    const std::string chunk = value.substr(i, 255);
    if (!out.empty()) out.push_back(' ');
    out.push_back('"');
    for (char c : chunk) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
    i += 255;
  } while (i < value.size());
  return out;
}

PdnsProvider::PdnsProvider(PdnsConfig config, std::unique_ptr<http::HttpClient> http)
    : config_(std::move(config)), http_(std::move(http)) {}
PdnsProvider::~PdnsProvider() = default;

Result<std::unique_ptr<PdnsProvider>> PdnsProvider::create(PdnsConfig config) {
  if (config.api_url.empty()) {
    return fail(Errc::invalid_input, "pdns: api-url is required; e.g. --dns-opt api-url=" + std::string(kExampleUrl));
  }
  if (auto u = check_http_url("pdns", "api-url", config.api_url, kExampleUrl); !u) return fail(u.error());
  if (config.api_key.empty()) return fail(Errc::invalid_input, "pdns: the API key is empty");
  if (config.timeout.count() < 1) {
    return fail(Errc::invalid_input, "pdns: timeout must be at least 1 second (e.g. --dns-opt timeout=30)");
  }
  while (!config.api_url.empty() && config.api_url.back() == '/') config.api_url.pop_back();
  http::HttpOptions ho;
  ho.ca_bundle = config.ca_bundle;
  ho.request_timeout = config.timeout;
  CERTPILOT_TRY(auto client, http::HttpClient::create(ho), "pdns");
  return std::unique_ptr<PdnsProvider>(new PdnsProvider(std::move(config), std::move(client)));
}

Result<std::string> PdnsProvider::zone_for(const TxtRecord& record) {
  if (!config_.zone.empty()) return wire::canonical_name(config_.zone);
  if (!record.zone.empty()) return wire::canonical_name(record.zone);
  // The longest zone on the server that contains the name.
  const std::string url = config_.api_url + "/api/v1/servers/" + config_.server_id + "/zones";
  CERTPILOT_TRY(auto r, http_->get(url, {{"X-API-Key", config_.api_key.reveal()}}), "listing zones");
  if (r.status == 404) {
    util::Error e = api_error(r, "listing zones: server-id " + config_.server_id + " is not on this PowerDNS server",
                              config_.api_key);
    e.message += "; check the server-id option";
    return fail(std::move(e));
  }
  if (r.status != 200) return fail(api_error(r, "listing zones", config_.api_key));
  auto j = json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_array()) return fail(Errc::dns, "listing zones: " + url + " did not answer a JSON list");
  std::string best;
  for (const auto& z : j) {
    if (!z.is_object() || !z.contains("name") || !z["name"].is_string()) continue;
    const std::string name = wire::canonical_name(z["name"].get<std::string>());
    if (wire::is_subdomain(record.fqdn, name) && name.size() > best.size()) best = name;
  }
  if (best.empty()) {
    return fail(Errc::not_found, "no zone on " + config_.api_url + " (server-id " + config_.server_id + ") contains " +
                                     record.fqdn + "; check the zone option or server-id");
  }
  return best;
}

// Errors name the zone and URL; the solver adds "pdns: adding TXT <fqdn>" in front.
Result<void> PdnsProvider::change(const TxtRecord& record, bool add) {
  auto found = zone_for(record);  // its errors say where it looked
  if (!found) return fail(found.error());
  const std::string& zone = *found;
  const std::string what = "zone " + zone;
  const std::string url = config_.api_url + "/api/v1/servers/" + config_.server_id + "/zones/" + fqdn_dot(zone);
  const std::vector<http::Header> auth{{"X-API-Key", config_.api_key.reveal()}};
  CERTPILOT_TRY(auto got, http_->get(url, auth), what);
  if (got.status == 404) {
    // The usual cause: the solver's zone (or the zone option) is hosted elsewhere, or server-id is wrong.
    util::Error e = api_error(got, "zone " + zone + " is not on this PowerDNS server (server-id " + config_.server_id + ")",
                              config_.api_key);
    e.message += "; check the zone option or server-id";
    return fail(std::move(e));
  }
  if (got.status != 200) return fail(api_error(got, what, config_.api_key));
  auto z = json::parse(got.body, nullptr, false);
  if (z.is_discarded() || !z.is_object()) return fail(Errc::dns, what + ": " + url + " did not answer a JSON object");

  // The current values at the name, without ours; then ours back when adding.
  std::vector<std::string> values;
  std::uint32_t ttl = static_cast<std::uint32_t>(record.ttl.count());
  if (z.contains("rrsets") && z["rrsets"].is_array()) {
    for (const auto& rr : z["rrsets"]) {
      if (!rr.is_object() || detail::str_or(rr, "type") != "TXT" || !wire::same_name(detail::str_or(rr, "name"), record.fqdn)) continue;
      for (const auto& rec : detail::array_or_empty(rr, "records")) {
        auto v = unquote_txt_content(detail::str_or(rec, "content"));
        if (v && *v != record.value) values.push_back(*v);
      }
    }
  }
  if (add) values.push_back(record.value);
  json rrset{{"name", fqdn_dot(record.fqdn)}, {"type", "TXT"}};
  if (values.empty()) {
    rrset["changetype"] = "DELETE";
  } else {
    rrset["changetype"] = "REPLACE";
    rrset["ttl"] = ttl;
    rrset["records"] = json::array();
    for (const auto& v : values) rrset["records"].push_back({{"content", quote_txt_content(v)}, {"disabled", false}});
  }
  http::Request req;
  req.method = "PATCH";
  req.url = url;
  req.headers = auth;
  req.headers.push_back({"Content-Type", "application/json"});
  req.body = json{{"rrsets", json::array({rrset})}}.dump();
  CERTPILOT_TRY(auto r, http_->send(req), what);
  if (r.status != 204 && r.status != 200) return fail(api_error(r, what, config_.api_key));
  // Debug: the solver logs each record at info; this line adds how many values the name now has.
  kLog.debug(add ? "TXT record presented" : "TXT record removed",
             {{"provider", "pdns"}, {"fqdn", record.fqdn}, {"zone", zone}, {"values", values.size()}});
  return util::ok();
}

Result<void> PdnsProvider::present(const TxtRecord& record) { return change(record, true); }
Result<void> PdnsProvider::cleanup(const TxtRecord& record) { return change(record, false); }

Result<ProviderPtr> make_pdns_provider(const ProviderOptions& opts, const SecretReader& secrets) {
  if (auto k = check_option_keys("pdns", opts, kPdnsOptions);
      !k) {
    return fail(k.error());
  }
  PdnsConfig c;
  c.api_url = option_or(opts, "api-url", "");
  c.server_id = option_or(opts, "server-id", "localhost");
  c.zone = option_or(opts, "zone", "");
  c.ca_bundle = option_or(opts, "ca-bundle", "");
  CERTPILOT_TRY(c.timeout, timeout_option(opts, c.timeout), "pdns");
  auto key = load_secret("pdns", opts, "api-key", secrets);
  if (!key) return fail(key.error());
  c.api_key = std::move(*key);
  auto p = PdnsProvider::create(std::move(c));
  if (!p) return fail(p.error());
  return ProviderPtr(std::move(*p));
}

}  // namespace certpilot::dns
