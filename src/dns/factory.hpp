#pragma once
// Builds a provider by name from the operator's KEY=VALUE options (--dns-opt, or the options table
// of a [dns.<name>] config section). Unknown providers and options are errors that list what exists.
#include <map>
#include <string>
#include <vector>

#include "dns/provider.hpp"
#include "dns/provider_options.hpp"

namespace certpilot::dns {

std::vector<std::string> provider_names();
// The option keys provider `name` accepts; nullptr for an unknown provider. For checks that must not
// build the provider (a config check reads no secrets and opens nothing).
const std::vector<std::string>* provider_option_keys(const std::string& name);
// `secrets` reads the files and variables that secret options (`*-file`, `*-env`) name.
// `resolvers`: the operator's resolvers (--dns-resolver, normalized "ip:port"); a provider that
// looks anything up in the DNS itself (rfc2136: the zone, its primary) asks these and nothing else,
// and the system's resolvers only when the list is empty.
Result<ProviderPtr> make_provider(const std::string& name, const std::map<std::string, std::string>& options,
                                  const SecretReader& secrets, const std::vector<std::string>& resolvers);

}  // namespace certpilot::dns
