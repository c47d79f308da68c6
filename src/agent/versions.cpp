#include "agent/versions.hpp"

#include "crypto/ossl.hpp"
#include "dns/resolver.hpp"
#include "http/client.hpp"

namespace certpilot::agent {

std::vector<std::string> library_versions() {
  return {crypto::openssl_version(), http::curl_version_string(), "c-ares " + dns::cares_version()};
}

}  // namespace certpilot::agent
