#pragma once
// A tolerant scanner for PEM armour (RFC 7468 §2), so parsers can name what they found (a block of
// another type, a block without its END line) instead of OpenSSL's generic "no start line".
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace certpilot::crypto::detail {

struct PemBlock {
  std::string label;      // "CERTIFICATE", "PRIVATE KEY", ...
  std::string_view text;  // from "-----BEGIN" through the END line (or to the end of input if truncated)
  std::string_view body;  // between the BEGIN and END lines (may include RFC 1421 headers)
  bool complete = false;  // a matching END line was found
};

// Every BEGIN line in order; text outside blocks (comments, "Bag Attributes") is skipped.
// The views point into `pem`.
std::vector<PemBlock> scan_pem(std::string_view pem);

// Base64 body of a block without headers, decoded; nullopt on corrupt base64 or if it has
// RFC 1421 headers (e.g. "Proc-Type: 4,ENCRYPTED").
std::optional<std::string> decode_pem_body(const PemBlock& block);

}  // namespace certpilot::crypto::detail
