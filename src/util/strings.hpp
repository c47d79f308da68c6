#pragma once
// Small string helpers used across modules.
#include <string>
#include <string_view>
#include <vector>

namespace certpilot::util {

std::string to_lower(std::string_view s);
std::string_view trim(std::string_view s);
std::vector<std::string> split(std::string_view s, char sep);
bool starts_with_icase(std::string_view s, std::string_view prefix);
bool iequals(std::string_view a, std::string_view b);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
// A JSON string literal, quotes included.
std::string json_quote(std::string_view s);
std::string hex_encode(std::string_view bytes, bool upper = false);
// Replaces control characters so untrusted text (a server's error body) fits on one log line,
// and truncates it to max_len bytes.
std::string printable_excerpt(std::string_view s, std::size_t max_len = 300);

}  // namespace certpilot::util
