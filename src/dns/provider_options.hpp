#pragma once
// key=value options of the DNS providers (`--dns-opt key=value`), and how a provider gets its secret:
// the options name a file or an environment variable, and a SecretReader passed in by the caller
// reads it (the secret never appears in an error message, only the file or variable name does).
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
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
// The `timeout` option of a provider: whole seconds ("30" or "30s"), at least 1. Zero would make
// every request fail at once with "no answer in time", so it is refused when the provider is
// created (check-config catches it without the secret or the network). Errors name the option.
util::Result<std::chrono::seconds> timeout_option(const ProviderOptions& opts, std::chrono::seconds fallback);
// An `api-url` style option must be an http:// or https:// URL with a host: anything else (ftp://,
// a bare host:port) would pass creation and fail only at the first request. The error quotes the
// URL without any user:password@ part, and shows `example` as the fix.
util::Result<void> check_http_url(const std::string& provider, const std::string& option, const std::string& url,
                                  const std::string& example);
// Comma-separated list; empty items dropped.
std::vector<std::string> list_option(const ProviderOptions& opts, const std::string& key);

// What a secret option points at: `<prefix>-file` names a file, `<prefix>-env` a variable.
struct SecretRef {
  enum class Kind { file, env };
  Kind kind;
  std::string where;  // the path or the variable name
};
// Reads (and trims) what a SecretRef names; its errors name the file or variable, never the content.
// agent/ passes the real one: nothing in dns/ reads files or the environment itself (STYLE.md), so
// unit tests hand providers a map instead.
using SecretReader = std::function<util::Result<util::SecretString>(const SecretRef&)>;

// [A-Za-z_][A-Za-z0-9_]*: what a `*-env` option must hold (a name, never the secret itself).
bool is_env_var_name(std::string_view name);

// Exactly one of `<prefix>-file` or `<prefix>-env`, read through `read`; empty is an error. A
// `-env` value that is not a variable name is refused without quoting it (it may be the secret).
util::Result<util::SecretString> load_secret(const std::string& provider, const ProviderOptions& opts,
                                             const std::string& prefix, const SecretReader& read);

}  // namespace certpilot::dns
