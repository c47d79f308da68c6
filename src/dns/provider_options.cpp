#include "dns/provider_options.hpp"

#include <algorithm>
#include <cerrno>

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

util::Result<std::chrono::seconds> timeout_option(const ProviderOptions& opts, std::chrono::seconds fallback) {
  const std::string hint = "; give whole seconds, at least 1, e.g. --dns-opt timeout=" + std::to_string(fallback.count()) +
                           " (the default)";
  auto t = seconds_option(opts, "timeout", fallback);
  if (!t) return fail(Errc::invalid_input, t.error().message + hint);
  if (t->count() < 1) return fail(Errc::invalid_input, "option timeout=\"" + util::printable_excerpt(opts.at("timeout"), 40) +
                                                            "\" would give every request no time to answer" + hint);
  return t;
}

namespace {

// "https://user:pass@host/x" -> "https://host/x": a URL quoted in an error may carry credentials.
std::string without_userinfo(const std::string& url) {
  const auto scheme_end = url.find("://");
  const std::size_t host_start = scheme_end == std::string::npos ? 0 : scheme_end + 3;
  const auto host_end = url.find_first_of("/?#", host_start);
  const auto at = url.rfind('@', host_end == std::string::npos ? std::string::npos : host_end);
  if (at == std::string::npos || at < host_start) return url;
  return url.substr(0, host_start) + url.substr(at + 1);
}

}  // namespace

util::Result<void> check_http_url(const std::string& provider, const std::string& option, const std::string& url,
                                  const std::string& example) {
  const std::string lower = util::to_lower(url);
  std::size_t host = 0;
  if (lower.rfind("http://", 0) == 0) host = 7;
  if (lower.rfind("https://", 0) == 0) host = 8;
  if (host != 0 && host < url.size() && url.find_first_of("/?#", host) != host) return util::ok();
  return fail(Errc::invalid_input, provider + ": option " + option + "=\"" +
                                       util::printable_excerpt(without_userinfo(url), 100) +
                                       "\" is not an http:// or https:// URL with a host; e.g. --dns-opt " + option + "=" +
                                       example);
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

bool is_env_var_name(std::string_view name) {
  if (name.empty() || (name.front() >= '0' && name.front() <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

util::Result<util::SecretString> load_secret(const std::string& provider, const ProviderOptions& opts,
                                             const std::string& prefix, const SecretReader& read) {
  const std::string file = option_or(opts, prefix + "-file", "");
  const std::string env = option_or(opts, prefix + "-env", "");
  if (file.empty() == env.empty()) {
    return fail(Errc::invalid_input, provider + ": give exactly one of " + prefix + "-file or " + prefix + "-env");
  }
  const SecretRef ref = file.empty() ? SecretRef{SecretRef::Kind::env, env} : SecretRef{SecretRef::Kind::file, file};
  const std::string option = prefix + (file.empty() ? "-env" : "-file");
  // A secret pasted where the variable's name goes must not be echoed back in "X is not set".
  if (ref.kind == SecretRef::Kind::env && !is_env_var_name(env)) {
    return fail(Errc::invalid_input, provider + ": " + option +
                                         " must name an environment variable (letters, digits, _), not hold the "
                                         "secret itself");
  }
  if (!read) return fail(Errc::internal, provider + ": no secret reader for " + option);
  auto secret = read(ref);
  if (!secret) return fail(secret.error().wrapped(provider + ": " + option));
  if (secret->reveal().empty()) {
    return fail(Errc::invalid_input, provider + ": " + option + " " + ref.where + " is empty");
  }
  return secret;
}

}  // namespace certpilot::dns
