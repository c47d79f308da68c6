#include "acme/directory.hpp"

#include <nlohmann/json.hpp>

#include "util/strings.hpp"

namespace certpilot::acme {

using nlohmann::json;

util::Result<Directory> parse_directory(const std::string& url, const std::string& body) {
  const json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return util::fail(util::Errc::invalid_input,
                      "ACME directory " + url + " is not JSON (got: " + util::printable_excerpt(body, 80) +
                          "); check --directory: it must be the CA's directory URL, e.g. https://ca.example/directory");
  }
  Directory d;
  d.url = url;
  const auto str = [&](const char* key, std::string& out) -> bool {
    const auto it = doc.find(key);
    if (it == doc.end() || !it->is_string()) return false;
    out = it->get<std::string>();
    return true;
  };
  for (auto [key, field] : {std::pair{"newNonce", &d.new_nonce}, std::pair{"newAccount", &d.new_account},
                            std::pair{"newOrder", &d.new_order}, std::pair{"revokeCert", &d.revoke_cert},
                            std::pair{"keyChange", &d.key_change}}) {
    if (!str(key, *field)) {
      return util::fail(util::Errc::invalid_input, "ACME directory " + url + " has no \"" + std::string(key) +
                                                       "\" URL: is this the CA's directory URL?");
    }
  }
  std::string tmp;
  if (str("newAuthz", tmp)) d.new_authz = tmp;
  if (str("renewalInfo", tmp)) d.renewal_info = tmp;
  if (const auto meta = doc.find("meta"); meta != doc.end() && meta->is_object()) {
    if (auto it = meta->find("termsOfService"); it != meta->end() && it->is_string()) d.terms_of_service = it->get<std::string>();
    if (auto it = meta->find("website"); it != meta->end() && it->is_string()) d.website = it->get<std::string>();
    if (auto it = meta->find("caaIdentities"); it != meta->end() && it->is_array()) {
      for (const auto& v : *it) {
        if (v.is_string()) d.caa_identities.push_back(v.get<std::string>());
      }
    }
    if (auto it = meta->find("externalAccountRequired"); it != meta->end() && it->is_boolean()) {
      d.external_account_required = it->get<bool>();
    }
    if (auto it = meta->find("profiles"); it != meta->end() && it->is_object()) {
      for (auto p = it->begin(); p != it->end(); ++p) {
        d.profiles[p.key()] = p->is_string() ? p->get<std::string>() : std::string();
      }
    }
  }
  return d;
}

}  // namespace certpilot::acme
