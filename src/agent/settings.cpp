#include "agent/settings.hpp"

#include "acme/directory.hpp"

namespace certpilot::agent {

std::string resolve_directory_alias(const std::string& directory) {
  if (directory.empty() || directory == "letsencrypt" || directory == "le") return acme::kLetsEncryptProduction;
  if (directory == "letsencrypt-staging" || directory == "staging") return acme::kLetsEncryptStaging;
  return directory;
}

}  // namespace certpilot::agent
