#pragma once
#include <string>
#include <vector>

#include "crypto/key.hpp"

namespace certpilot::crypto {

// A PKCS#10 CSR signed with key, every name in subjectAltName (dNSName), the first name as the
// subject CN when it fits (64 characters). Returns DER bytes (base64url them for finalize).
Result<std::string> make_csr_der(const PrivateKey& key, const std::vector<std::string>& names);

}  // namespace certpilot::crypto
