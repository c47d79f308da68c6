#pragma once
// A SecretReader over a map (file path or variable name -> secret), so provider tests need neither
// files nor setenv; agent/secret_reader has its own tests for the real one.
#include <map>
#include <string>

#include "dns/provider_options.hpp"

namespace certpilot::test {

inline dns::SecretReader fake_secrets(std::map<std::string, std::string> values) {
  return [values = std::move(values)](const dns::SecretRef& ref) -> util::Result<util::SecretString> {
    auto it = values.find(ref.where);
    if (it == values.end()) return util::fail(util::Errc::io, "cannot read " + ref.where);
    return util::SecretString(it->second);
  };
}

}  // namespace certpilot::test
