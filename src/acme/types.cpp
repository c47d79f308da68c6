#include "acme/types.hpp"

#include "acme/detail/json_fields.hpp"
#include "util/time.hpp"

namespace certpilot::acme {

using nlohmann::json;

namespace {

using detail::str_or;

util::Unexpected malformed(const std::string& url, const std::string& what) {
  return util::fail(util::Errc::acme_problem, "the CA sent a malformed resource at " + url + ": " + what);
}

std::optional<Problem> problem_in(const json& doc) {
  const auto it = doc.find("error");
  if (it == doc.end() || !it->is_object()) return std::nullopt;
  return parse_problem(it->dump());
}

}  // namespace

const Challenge* Authorization::find_challenge(const std::string& type) const {
  for (const auto& c : challenges) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

util::Result<Account> parse_account(const std::string& url, const json& doc) {
  if (!doc.is_object()) return malformed(url, "account is not a JSON object");
  Account a;
  a.url = url;
  a.status = str_or(doc, "status");
  if (auto it = doc.find("contact"); it != doc.end() && it->is_array()) {
    for (const auto& c : *it) {
      if (c.is_string()) a.contact.push_back(c.get<std::string>());
    }
  }
  if (auto o = str_or(doc, "orders"); !o.empty()) a.orders = o;
  return a;
}

util::Result<Order> parse_order(const std::string& url, const json& doc) {
  if (!doc.is_object()) return malformed(url, "order is not a JSON object");
  Order o;
  o.url = url;
  o.status = str_or(doc, "status");
  if (o.status.empty()) return malformed(url, "order has no status");
  o.finalize = str_or(doc, "finalize");
  if (auto it = doc.find("identifiers"); it != doc.end() && it->is_array()) {
    for (const auto& id : *it) {
      if (id.is_object()) o.identifiers.push_back({str_or(id, "type"), str_or(id, "value")});
    }
  }
  if (auto it = doc.find("authorizations"); it != doc.end() && it->is_array()) {
    for (const auto& a : *it) {
      if (a.is_string()) o.authorizations.push_back(a.get<std::string>());
    }
  }
  if (auto c = str_or(doc, "certificate"); !c.empty()) o.certificate = c;
  if (auto r = str_or(doc, "replaces"); !r.empty()) o.replaces = r;
  if (auto p = str_or(doc, "profile"); !p.empty()) o.profile = p;
  o.error = problem_in(doc);
  return o;
}

util::Result<Authorization> parse_authorization(const std::string& url, const json& doc) {
  if (!doc.is_object()) return malformed(url, "authorization is not a JSON object");
  Authorization a;
  a.url = url;
  a.status = str_or(doc, "status");
  if (a.status.empty()) return malformed(url, "authorization has no status");
  const auto id = doc.find("identifier");
  if (id == doc.end() || !id->is_object()) return malformed(url, "authorization has no identifier");
  a.identifier = {str_or(*id, "type"), str_or(*id, "value")};
  if (auto w = doc.find("wildcard"); w != doc.end() && w->is_boolean()) a.wildcard = w->get<bool>();
  if (auto e = str_or(doc, "expires"); !e.empty()) a.expires = util::parse_rfc3339(e);
  if (auto it = doc.find("challenges"); it != doc.end() && it->is_array()) {
    for (const auto& c : *it) {
      if (!c.is_object()) continue;
      a.challenges.push_back({str_or(c, "type"), str_or(c, "url"), str_or(c, "token"), str_or(c, "status"),
                              problem_in(c)});
    }
  }
  return a;
}

util::Result<RenewalInfo> parse_renewal_info(const std::string& url, const json& doc) {
  // RFC 9773 §4.2: {"suggestedWindow": {"start": ..., "end": ...}, "explanationURL": ...}
  const auto w = doc.is_object() ? doc.find("suggestedWindow") : doc.end();
  if (!doc.is_object() || w == doc.end() || !w->is_object()) return malformed(url, "renewal info has no suggestedWindow");
  const auto start = util::parse_rfc3339(str_or(*w, "start"));
  const auto end = util::parse_rfc3339(str_or(*w, "end"));
  if (!start || !end) return malformed(url, "suggestedWindow start/end are not RFC 3339 timestamps");
  // RFC 9773 §4.2: an end that "equals or precedes the start timestamp is invalid", and clients
  // "MUST treat one as though they failed to receive any response".
  if (*end <= *start) return malformed(url, "suggestedWindow does not end after it starts");
  RenewalInfo info;
  info.window_start = *start;
  info.window_end = *end;
  if (auto e = str_or(doc, "explanationURL"); !e.empty()) info.explanation_url = e;
  return info;
}

}  // namespace certpilot::acme
