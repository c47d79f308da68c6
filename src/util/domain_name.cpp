#include "util/domain_name.hpp"

#include <cstddef>

namespace certpilot::util {
namespace {

constexpr std::size_t kMaxNameLength = 253;  // RFC 1035 §2.3.4: 255 octets on the wire
constexpr std::size_t kMaxLabelLength = 63;  // RFC 1035 §2.3.4

bool is_ldh(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

Unexpected invalid(std::string_view name, std::string_view problem) {
  std::string msg = "invalid domain name \"";
  // The name may be untrusted text: keep control characters out of the message.
  for (char c : name.substr(0, 300)) {
    const auto u = static_cast<unsigned char>(c);
    msg += (u < 0x20 || u == 0x7f) ? '?' : c;
  }
  msg += "\": ";
  msg += problem;
  return fail(Errc::invalid_input, std::move(msg));
}

// Checks one label (already lowercased); returns "" when fine, else the problem.
std::string check_label(std::string_view label, bool first) {
  if (label.empty()) {
    return "empty label (two dots in a row, or a leading dot)";
  }
  if (label == "*") {
    return first ? "" : "a wildcard \"*\" is only allowed as the whole leftmost label (\"*.example.com\")";
  }
  if (label.size() > kMaxLabelLength) {
    return "label \"" + std::string(label.substr(0, 20)) + "...\" is longer than 63 characters";
  }
  for (char c : label) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '*') {
      return "a wildcard \"*\" is only allowed as the whole leftmost label (\"*.example.com\")";
    }
    if (u >= 0x80) {
      return "non-ASCII character: write internationalized names as punycode A-labels (\"xn--...\")";
    }
    if (c == ' ' || c == '\t') {
      return "contains a space";
    }
    if (!is_ldh(c)) {
      // Built by push_back: GCC 12 -O3 reports a false -Wrestrict for "'" + std::string(1, c) + "'".
      std::string shown = "control character";
      if (u >= 0x20 && u != 0x7f) {
        shown.assign(1, '\'');
        shown.push_back(c);
        shown.push_back('\'');
      }
      return shown + " is not allowed (only letters, digits and '-')";
    }
  }
  if (label.front() == '-' || label.back() == '-') {
    return "label \"" + std::string(label) + "\" starts or ends with '-'";
  }
  return "";
}

}  // namespace

Result<std::string> normalize_domain(std::string_view name) {
  if (name.empty()) {
    return invalid(name, "empty name");
  }
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  // A fully qualified name may end in a dot; the identifier is written without it.
  if (out.back() == '.') {
    out.pop_back();
  }
  if (out.empty()) {
    return invalid(name, "empty name");
  }
  if (out.size() > kMaxNameLength) {
    return invalid(name.substr(0, 40), "longer than 253 characters (" + std::to_string(out.size()) + ")");
  }
  if (out.find(':') != std::string::npos) {
    return invalid(name, "looks like an IPv6 address; only DNS names are accepted here");
  }
  if (out == "*") {
    return invalid(name, "a bare \"*\" names nothing; write \"*.example.com\"");
  }
  std::size_t start = 0;
  std::string_view last_label;
  bool first = true;
  while (true) {
    const std::size_t dot = out.find('.', start);
    const std::string_view label =
        std::string_view(out).substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (auto problem = check_label(label, first); !problem.empty()) {
      return invalid(name, problem);
    }
    last_label = label;
    first = false;
    if (dot == std::string::npos) {
      break;
    }
    start = dot + 1;
  }
  // No top-level domain is all digits (RFC 3696 §2), so such a name is an IPv4 address or a typo
  // of one; ACME "ip" identifiers (RFC 8738) are a different type.
  bool all_digits = true;
  for (char c : last_label) {
    all_digits = all_digits && is_digit(c);
  }
  if (all_digits) {
    return invalid(name, "looks like an IP address; only DNS names are accepted here");
  }
  return out;
}

bool is_wildcard_domain(std::string_view name) { return name.size() > 2 && name.substr(0, 2) == "*."; }

std::string_view domain_without_wildcard(std::string_view name) {
  return is_wildcard_domain(name) ? name.substr(2) : name;
}

Result<void> check_dns01_name_length(std::string_view normalized) {
  constexpr std::string_view kPrefix = "_acme-challenge.";
  const std::size_t length = kPrefix.size() + domain_without_wildcard(normalized).size();
  if (length <= kMaxNameLength) return ok();
  const std::size_t most = kMaxNameLength - kPrefix.size();
  return fail(Errc::invalid_input, "\"" + std::string(normalized.substr(0, 40)) +
                                       "...\" is too long for DNS-01: _acme-challenge.<name> would be " +
                                       std::to_string(length) + " characters, over 253; a name may have at most " +
                                       std::to_string(most) + " (" + std::to_string(most + 2) + " with \"*.\")");
}

}  // namespace certpilot::util
