#pragma once
// PEM reading for tls/ on top of crypto/ossl.hpp. Errors say which file and what OpenSSL saw.
#include <string>
#include <string_view>
#include <vector>

#include "crypto/ossl.hpp"
#include "util/clock.hpp"
#include "util/result.hpp"

namespace certpilot::tls::detail {

// Every CERTIFICATE block in order; fails on none, or on a truncated or corrupt block.
util::Result<std::vector<crypto::X509Ptr>> read_certificates(std::string_view pem, std::string_view source);
// Exactly one private key (PKCS#8 or traditional PEM).
util::Result<crypto::EvpPkeyPtr> read_private_key(std::string_view pem, std::string_view source);
util::SysTime asn1_to_time(const ASN1_TIME* t);
std::string format_time(util::SysTime t);  // "2026-01-31T12:00:00Z"
std::string serial_hex(const X509* cert);   // upper-case hex
std::string subject_text(const X509* cert); // "CN=example.test" (one line)

}  // namespace certpilot::tls::detail
