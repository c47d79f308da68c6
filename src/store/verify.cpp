#include <algorithm>
#include <set>

#include "store/store.hpp"
#include "util/domain_name.hpp"
#include "util/strings.hpp"

namespace certpilot::store {

using util::Errc;
using util::fail;

namespace {

std::set<std::string> normalized_set(const std::vector<std::string>& names) {
  std::set<std::string> out;
  for (const auto& n : names) {
    auto norm = util::normalize_domain(n);
    out.insert(norm ? *norm : util::to_lower(n));
  }
  return out;
}

std::string join_set(const std::set<std::string>& s) {
  return util::join(std::vector<std::string>(s.begin(), s.end()), ", ");
}

}  // namespace

Result<void> validate_certificate_name(std::string_view name) {
  const auto bad = [&](std::string_view why) {
    return fail(Errc::invalid_input, "certificate name \"" + util::printable_excerpt(name, 80) + "\": " +
                                         std::string(why));
  };
  if (name.empty()) return bad("empty");
  if (name.size() > 64) return bad("longer than 64 characters");
  if (name.front() == '.' || name.front() == '-') return bad("must not start with '.' or '-'");
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return bad("only lowercase letters, digits, '.', '_' and '-' are allowed (it becomes a file name)");
  }
  return util::ok();
}

Result<void> verify_material(const crypto::PrivateKey& key, const crypto::CertificateChain& chain,
                             const std::vector<std::string>& names) {
  const auto& leaf = chain.leaf();
  if (!leaf.matches_key(key)) {
    return fail(Errc::invalid_input, "the private key does not belong to the certificate " + leaf.subject() +
                                         " (serial " + leaf.serial_hex() + "); nothing was written");
  }
  if (names.empty()) return util::ok();
  const auto want = normalized_set(names);
  const auto have = normalized_set(leaf.dns_names());
  if (want != have) {
    return fail(Errc::invalid_input, "the certificate names [" + join_set(have) + "] but [" + join_set(want) +
                                         "] was requested; nothing was written");
  }
  return util::ok();
}

}  // namespace certpilot::store
