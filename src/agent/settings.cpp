#include "agent/settings.hpp"

#include "acme/directory.hpp"
#include "util/domain_name.hpp"

namespace certpilot::agent {

std::string resolve_directory_alias(const std::string& directory) {
  if (directory.empty() || directory == "letsencrypt" || directory == "le") return acme::kLetsEncryptProduction;
  if (directory == "letsencrypt-staging" || directory == "staging") return acme::kLetsEncryptStaging;
  return directory;
}

util::Result<std::string> normalize_caa_identity(const std::string& text) {
  const std::string fix = "; give the CA's domain as its CAA records name it, e.g. letsencrypt.org";
  auto name = util::normalize_domain(text);
  if (!name || util::is_wildcard_domain(*name)) {
    return util::fail(util::Errc::invalid_input, "CAA identity \"" + text + "\" is not a domain name" + fix);
  }
  return std::move(*name);
}

}  // namespace certpilot::agent
