#include "dns/rfc2136/bind_key.hpp"

#include <algorithm>
#include <regex>

#include "dns/wire/message.hpp"
#include "util/strings.hpp"

namespace certpilot::dns {

using util::Errc;
using util::fail;

namespace {

std::string quoted_names(const std::vector<BindKeyClause>& keys) {
  std::vector<std::string> names;
  for (const auto& k : keys) names.push_back("\"" + k.name + "\"");
  return util::join(names, ", ");
}

}  // namespace

std::vector<BindKeyClause> parse_bind_keys(const std::string& text) {
  static const std::regex kName(R"re(key\s+"?([A-Za-z0-9._-]+)"?\s*\{)re");
  static const std::regex kAlg(R"re(algorithm\s+"?([A-Za-z0-9._-]+)"?\s*;)re");
  static const std::regex kSecret(R"re(secret\s+"([A-Za-z0-9+/=]+)"\s*;)re");
  // Each clause's body runs from its `key "name" {` to the next one: a file of several keys (one
  // per algorithm, or old and new during a rollover) must not lend one key's secret to another.
  std::vector<std::smatch> heads;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), kName); it != std::sregex_iterator(); ++it) {
    heads.push_back(*it);
  }
  std::vector<BindKeyClause> out;
  bool any_secret = false;
  for (std::size_t i = 0; i < heads.size(); ++i) {
    const auto begin = heads[i][0].second;
    const auto end = i + 1 < heads.size() ? heads[i + 1][0].first : text.end();
    BindKeyClause k;
    k.name = heads[i][1];
    std::smatch alg, secret;
    if (std::regex_search(begin, end, alg, kAlg)) k.algorithm = alg[1];
    if (std::regex_search(begin, end, secret, kSecret)) {
      k.secret = util::SecretString(secret[1]);
      any_secret = true;
    }
    out.push_back(std::move(k));
  }
  if (!any_secret) out.clear();
  return out;
}

std::optional<BindKeyClause> parse_bind_key(const std::string& text) {
  auto keys = parse_bind_keys(text);
  if (keys.empty()) return std::nullopt;
  return std::move(keys.front());
}

util::Result<BindKeyClause> select_bind_key(const std::vector<BindKeyClause>& keys, const std::string& key_name,
                                            const std::string& source) {
  if (keys.empty()) return fail(Errc::invalid_input, source + " holds no key clause");
  const BindKeyClause* chosen = nullptr;
  if (key_name.empty()) {
    if (keys.size() > 1) {
      return fail(Errc::invalid_input, source + " holds " + std::to_string(keys.size()) + " keys (" + quoted_names(keys) +
                                           "); choose one with --dns-opt tsig-key-name=NAME");
    }
    chosen = &keys.front();
  } else {
    const auto it = std::find_if(keys.begin(), keys.end(),
                                 [&](const BindKeyClause& k) { return wire::same_name(k.name, key_name); });
    if (it == keys.end()) {
      return fail(Errc::invalid_input, "tsig-key-name \"" + util::printable_excerpt(key_name, 80) + "\" is not in " +
                                           source + ", which holds " + quoted_names(keys) +
                                           "; fix tsig-key-name or give the file that holds that key");
    }
    chosen = &*it;
  }
  if (chosen->secret.empty()) {
    return fail(Errc::invalid_input, "key \"" + chosen->name + "\" in " + source + " has no secret \"...\"; line");
  }
  return *chosen;
}

}  // namespace certpilot::dns
