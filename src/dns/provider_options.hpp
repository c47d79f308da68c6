#pragma once
// key=value options of the DNS providers (`--dns-opt key=value`), and the one place where a
// provider's secret is read from a file or an environment variable (the CLI passes the map; the
// secret never appears in an error message, only the file or variable name does).
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "util/result.hpp"
#include "util/secret.hpp"

namespace certpilot::dns {

using ProviderOptions = std::map<std::string, std::string>;

// Fails on a key outside `known`, naming it and listing the known ones (a typo must not silently
// fall back to a default).
util::Result<void> check_option_keys(const std::string& provider, const ProviderOptions& opts,
                                     const std::vector<std::string>& known);
std::string option_or(const ProviderOptions& opts, const std::string& key, const std::string& fallback);
// A whole number of seconds ("30" or "30s").
util::Result<std::chrono::seconds> seconds_option(const ProviderOptions& opts, const std::string& key,
                                                  std::chrono::seconds fallback);
// Comma-separated list; empty items dropped.
std::vector<std::string> list_option(const ProviderOptions& opts, const std::string& key);

// `<prefix>-file` (its content, trimmed) or `<prefix>-env` (the variable's value); exactly one.
// Errors name the file or variable, never the content.
util::Result<util::SecretString> load_secret(const std::string& provider, const ProviderOptions& opts,
                                             const std::string& prefix);

}  // namespace certpilot::dns
