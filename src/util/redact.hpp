#pragma once
// Scrubbing a secret out of text that came from elsewhere (a server's error body) before that text
// goes into an Error, a log line or meta.json. A server or a proxy may echo the request, headers
// included, so an API key or token we sent can come back in its answer.
#include <string>
#include <string_view>

#include "util/secret.hpp"

namespace certpilot::util {

inline constexpr std::string_view kRedacted = "[redacted]";

// `text` with every occurrence of the secret replaced by "[redacted]": the value itself, its
// base64 and base64url forms (with and without padding) and its JSON-escaped form; and, whatever
// the secret, the value of anything that looks like a credential header (`Authorization: ...`,
// `X-API-Key: ...`, `X-Auth-Key`, `X-Auth-Token`, in any case, also as JSON `"X-API-Key": "..."`
// or `name=value`) and a `Bearer <token>` of 16 characters or more.
// Call it on the untrusted text *before* truncating it (printable_excerpt), so no prefix of the
// secret survives a cut. An empty secret only gets the header rules. Pure; thread-safe.
std::string redact(std::string text, const SecretString& secret);

// How an error names the value of a secret-file option (tsig-secret-file, --eab-hmac-key-file...)
// that could not be read: the path itself, unless it names no existing file and looks like a
// pasted secret (16+ characters, all of the base64/base64url alphabet, not starting with '/'), which an operator sometimes types in place of the path. Then a description that
// does not quote it, with the fix.
std::string secret_file_label(const std::string& path);

}  // namespace certpilot::util
