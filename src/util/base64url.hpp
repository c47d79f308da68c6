#pragma once
// base64url without padding (RFC 4648 §5, as RFC 7515 §2 requires) and standard base64.
#include <optional>
#include <string>
#include <string_view>

namespace certpilot::util {

std::string base64url_encode(std::string_view bytes);
// Accepts input with or without '=' padding; nullopt on any character outside the alphabet.
std::optional<std::string> base64url_decode(std::string_view text);
std::string base64_encode(std::string_view bytes);
// Standard alphabet; ignores whitespace (PEM bodies, secrets files with newlines).
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace certpilot::util
