#include "store/store.hpp"
#include "util/strings.hpp"

namespace certpilot::store {

using util::Errc;
using util::fail;

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
  if (auto why = chain.mismatch(key, names); !why.empty()) return fail(Errc::invalid_input, why + "; nothing was written");
  return util::ok();
}

}  // namespace certpilot::store
