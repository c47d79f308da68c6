#pragma once
// The one place a DNS provider's secret is read from a file or the environment (STYLE.md: below
// agent/, such inputs come in as parameters). Passed to dns::make_provider.
#include "dns/provider_options.hpp"

namespace certpilot::agent {

// The file's content or the variable's value, trimmed. Errors name the file or variable only.
util::Result<util::SecretString> read_secret(const dns::SecretRef& ref);

}  // namespace certpilot::agent
