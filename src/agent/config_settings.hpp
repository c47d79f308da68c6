#pragma once
// The config file's sections as the runtime settings the issuing code takes (the same structs
// `certpilot issue` fills from flags).
#include "agent/config.hpp"
#include "agent/settings.hpp"

namespace certpilot::agent {

CaSettings ca_settings_of(const CaConfig& ca);
DnsSettings dns_settings_of(const DnsSetup& setup);

}  // namespace certpilot::agent
