#include "crypto/ossl.hpp"

#include <openssl/err.h>

namespace certpilot::crypto {

std::string drain_openssl_errors() {
  std::string out;
  const char* data = nullptr;
  int flags = 0;
  // ERR_get_error_all pops the oldest entry first, so the message reads in the order OpenSSL failed.
  while (const unsigned long code = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) {
    if (!out.empty()) {
      out.append("; ");
    }
    const char* reason = ERR_reason_error_string(code);
    const char* lib = ERR_lib_error_string(code);
    out.append(reason != nullptr ? reason : "error " + std::to_string(ERR_GET_REASON(code)));
    if ((flags & ERR_TXT_STRING) != 0 && data != nullptr && *data != '\0') {
      out.append(": ").append(data);
    }
    if (lib != nullptr) {
      out.append(" (").append(lib).append(")");
    }
  }
  if (out.empty()) {
    out = "no details from OpenSSL";
  }
  return out;
}

std::string openssl_version() { return OpenSSL_version(OPENSSL_VERSION); }

}  // namespace certpilot::crypto
