#include "store/meta.hpp"

#include <ctime>

#include <cstdio>
#include <nlohmann/json.hpp>
#include "util/time.hpp"

namespace certpilot::store {
namespace {

using nlohmann::json;
using util::Errc;
using util::fail;

void put_time(json& j, const char* key, const std::optional<SysTime>& t) {
  if (t) j[key] = util::format_rfc3339(*t);
}

util::Result<std::optional<SysTime>> get_time(const json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return std::optional<SysTime>();
  if (!j[key].is_string()) return fail(Errc::invalid_input, std::string("meta.json: \"") + key + "\" is not a string");
  auto t = util::parse_rfc3339(j[key].get<std::string>());
  if (!t) return fail(Errc::invalid_input, std::string("meta.json: \"") + key + "\" is not an RFC 3339 time");
  return std::optional<SysTime>(*t);
}

util::Result<std::string> get_string(const json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return std::string();
  if (!j[key].is_string()) return fail(Errc::invalid_input, std::string("meta.json: \"") + key + "\" is not a string");
  return j[key].get<std::string>();
}

}  // namespace

// Like CERTPILOT_TRY without adding context: the messages already say "meta.json: ...".
#define CERTPILOT_META_GET(dst, expr)            \
  do {                                           \
    auto cp_meta_r = (expr);                     \
    if (!cp_meta_r) return fail(cp_meta_r.error()); \
    dst = std::move(*cp_meta_r);                 \
  } while (false)


std::string meta_to_json(const CertificateMeta& m) {
  json j = json::object();
  j["name"] = m.name;
  j["domains"] = m.domains;
  j["key_type"] = m.key_type;
  j["serial"] = m.serial;
  j["ca_directory"] = m.ca_directory;
  j["account_id"] = m.account_id;
  j["ari_cert_id"] = m.ari_cert_id;
  put_time(j, "issued_at", m.issued_at);
  put_time(j, "not_before", m.not_before);
  put_time(j, "not_after", m.not_after);
  put_time(j, "next_check", m.next_check);
  put_time(j, "renew_at", m.renew_at);
  put_time(j, "replaced_for_past_ari_window", m.replaced_for_past_ari_window);
  j["failure_count"] = m.failure_count;
  put_time(j, "last_failure", m.last_failure);
  if (m.retry_after_seconds) j["retry_after_seconds"] = *m.retry_after_seconds;
  json recent = json::array();
  for (const auto t : m.recent_failures) recent.push_back(util::format_rfc3339(t));
  j["recent_failures"] = recent;
  j["last_error"] = m.last_error;
  return j.dump(2) + "\n";
}

util::Result<CertificateMeta> meta_from_json(std::string_view text) {
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return fail(Errc::invalid_input, "meta.json: not a JSON object");
  CertificateMeta m;
  CERTPILOT_META_GET(m.name, get_string(j, "name"));
  CERTPILOT_META_GET(m.key_type, get_string(j, "key_type"));
  CERTPILOT_META_GET(m.serial, get_string(j, "serial"));
  CERTPILOT_META_GET(m.ca_directory, get_string(j, "ca_directory"));
  CERTPILOT_META_GET(m.account_id, get_string(j, "account_id"));
  CERTPILOT_META_GET(m.ari_cert_id, get_string(j, "ari_cert_id"));
  CERTPILOT_META_GET(m.last_error, get_string(j, "last_error"));
  CERTPILOT_META_GET(m.issued_at, get_time(j, "issued_at"));
  CERTPILOT_META_GET(m.not_before, get_time(j, "not_before"));
  CERTPILOT_META_GET(m.not_after, get_time(j, "not_after"));
  CERTPILOT_META_GET(m.next_check, get_time(j, "next_check"));
  CERTPILOT_META_GET(m.renew_at, get_time(j, "renew_at"));
  CERTPILOT_META_GET(m.replaced_for_past_ari_window, get_time(j, "replaced_for_past_ari_window"));
  CERTPILOT_META_GET(m.last_failure, get_time(j, "last_failure"));
  if (j.contains("domains")) {
    if (!j["domains"].is_array()) return fail(Errc::invalid_input, "meta.json: \"domains\" is not an array");
    for (const auto& d : j["domains"]) {
      if (!d.is_string()) return fail(Errc::invalid_input, "meta.json: \"domains\" holds a non-string");
      m.domains.push_back(d.get<std::string>());
    }
  }
  if (j.contains("failure_count")) {
    if (!j["failure_count"].is_number_integer()) {
      return fail(Errc::invalid_input, "meta.json: \"failure_count\" is not an integer");
    }
    m.failure_count = j["failure_count"].get<int>();
  }
  if (j.contains("retry_after_seconds") && !j["retry_after_seconds"].is_null()) {
    if (!j["retry_after_seconds"].is_number_integer()) {
      return fail(Errc::invalid_input, "meta.json: \"retry_after_seconds\" is not an integer");
    }
    m.retry_after_seconds = j["retry_after_seconds"].get<std::int64_t>();
  }
  if (j.contains("recent_failures")) {
    if (!j["recent_failures"].is_array()) {
      return fail(Errc::invalid_input, "meta.json: \"recent_failures\" is not an array");
    }
    for (const auto& t : j["recent_failures"]) {
      auto parsed = t.is_string() ? util::parse_rfc3339(t.get<std::string>()) : std::nullopt;
      if (!parsed) return fail(Errc::invalid_input, "meta.json: \"recent_failures\" holds a non-time");
      m.recent_failures.push_back(*parsed);
    }
  }
  return m;
}

}  // namespace certpilot::store
