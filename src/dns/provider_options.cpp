#include "dns/provider_options.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "util/strings.hpp"

namespace certpilot::dns {

using util::Errc;
using util::fail;

util::Result<void> check_option_keys(const std::string& provider, const ProviderOptions& opts,
                                     const std::vector<std::string>& known) {
  for (const auto& [key, value] : opts) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      return fail(Errc::invalid_input, provider + ": unknown option \"" + util::printable_excerpt(key, 60) +
                                           "\" (known: " + util::join(known, ", ") + ")");
    }
  }
  return util::ok();
}

std::string option_or(const ProviderOptions& opts, const std::string& key, const std::string& fallback) {
  auto it = opts.find(key);
  return it == opts.end() || it->second.empty() ? fallback : it->second;
}

util::Result<std::chrono::seconds> seconds_option(const ProviderOptions& opts, const std::string& key,
                                                  std::chrono::seconds fallback) {
  auto it = opts.find(key);
  if (it == opts.end() || it->second.empty()) return fallback;
  std::string text(util::trim(it->second));
  if (!text.empty() && text.back() == 's') text.pop_back();
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || errno != 0 || *end != '\0' || v < 0 || v > 86400 * 7) {
    return fail(Errc::invalid_input, "option " + key + "=\"" + util::printable_excerpt(it->second, 40) +
                                         "\" is not a number of seconds");
  }
  return std::chrono::seconds(v);
}

std::vector<std::string> list_option(const ProviderOptions& opts, const std::string& key) {
  std::vector<std::string> out;
  auto it = opts.find(key);
  if (it == opts.end()) return out;
  for (const auto& item : util::split(it->second, ',')) {
    auto t = util::trim(item);
    if (!t.empty()) out.emplace_back(t);
  }
  return out;
}

util::Result<util::SecretString> load_secret(const std::string& provider, const ProviderOptions& opts,
                                             const std::string& prefix) {
  const std::string file = option_or(opts, prefix + "-file", "");
  const std::string env = option_or(opts, prefix + "-env", "");
  if (file.empty() == env.empty()) {
    return fail(Errc::invalid_input, provider + ": give exactly one of " + prefix + "-file or " + prefix + "-env");
  }
  if (!env.empty()) {
    const char* v = std::getenv(env.c_str());
    if (v == nullptr || *v == '\0') {
      return fail(Errc::invalid_input, provider + ": environment variable " + env + " is not set or empty");
    }
    return util::SecretString(std::string(util::trim(v)));
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return fail(Errc::io, provider + ": cannot read " + prefix + "-file " + file + ": " + std::strerror(errno));
  std::ostringstream content;
  content << in.rdbuf();
  const std::string secret(util::trim(content.str()));
  if (secret.empty()) return fail(Errc::invalid_input, provider + ": " + prefix + "-file " + file + " is empty");
  return util::SecretString(secret);
}

}  // namespace certpilot::dns
