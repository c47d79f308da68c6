#include "util/redact.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <vector>

#include "util/base64url.hpp"
#include "util/strings.hpp"

namespace certpilot::util {
namespace {

void replace_all(std::string& text, const std::string& needle) {
  if (needle.empty()) return;
  for (std::size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + kRedacted.size())) {
    text.replace(pos, needle.size(), kRedacted);
  }
}

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

// Case-insensitive find of an ASCII lower-case needle.
std::size_t find_icase(const std::string& text, std::string_view needle, std::size_t from) {
  if (needle.size() > text.size()) return std::string::npos;
  for (std::size_t i = from; i + needle.size() <= text.size(); ++i) {
    std::size_t k = 0;
    while (k < needle.size() && lower(text[i + k]) == needle[k]) ++k;
    if (k == needle.size()) return i;
  }
  return std::string::npos;
}

bool is_space(char c) { return c == ' ' || c == '\t'; }

// Where a header value starting at `begin` ends: at the closing quote when it is quoted (JSON,
// an HTML attribute), else at the end of the line, a tag or a query-string separator.
std::size_t value_end(const std::string& text, std::size_t begin, char quote) {
  for (std::size_t i = begin; i < text.size(); ++i) {
    const char c = text[i];
    if (quote != 0) {
      if (c == '\\' && i + 1 < text.size()) {
        ++i;
        continue;
      }
      if (c == quote || c == '\r' || c == '\n') return i;
    } else if (c == '\r' || c == '\n' || c == '<' || c == '&' || c == '"' || c == '\'') {
      return i;
    }
  }
  return text.size();
}

// After a header name: an optional closing quote, blanks, ':' or '=', blanks, an optional opening
// quote; the value is replaced. Names not followed by a separator (prose) are left alone.
void redact_header_values(std::string& text, std::string_view name) {
  for (std::size_t pos = find_icase(text, name, 0); pos != std::string::npos; pos = find_icase(text, name, pos + 1)) {
    std::size_t i = pos + name.size();
    if (i < text.size() && (text[i] == '"' || text[i] == '\'')) ++i;
    while (i < text.size() && is_space(text[i])) ++i;
    if (i >= text.size() || (text[i] != ':' && text[i] != '=')) continue;
    ++i;
    while (i < text.size() && is_space(text[i])) ++i;
    char quote = 0;
    if (i < text.size() && (text[i] == '"' || text[i] == '\'')) quote = text[i++];
    const std::size_t end = value_end(text, i, quote);
    if (end == i || text.compare(i, end - i, kRedacted) == 0) continue;
    text.replace(i, end - i, kRedacted);
  }
}

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' ||
         c == '/' || c == '=';
}

// "Bearer <token>" anywhere (RFC 6750 §2.1), e.g. after a header name not listed here. Only a
// token of 16 characters or more: prose such as "bearer token missing" stays readable.
void redact_bearer(std::string& text) {
  constexpr std::string_view kScheme = "bearer";
  constexpr std::size_t kMinToken = 16;
  for (std::size_t pos = find_icase(text, kScheme, 0); pos != std::string::npos; pos = find_icase(text, kScheme, pos + 1)) {
    if (pos > 0 && std::isalnum(static_cast<unsigned char>(text[pos - 1])) != 0) continue;
    std::size_t i = pos + kScheme.size();
    if (i >= text.size() || !is_space(text[i])) continue;
    while (i < text.size() && is_space(text[i])) ++i;
    std::size_t end = i;
    while (end < text.size() && is_token_char(text[end])) ++end;
    if (end - i < kMinToken) continue;
    text.replace(i, end - i, kRedacted);
  }
}

}  // namespace

std::string redact(std::string text, const SecretString& secret) {
  const std::string& value = secret.reveal();
  if (!value.empty()) {
    std::vector<std::string> forms{value, base64_encode(value), base64url_encode(value)};
    // Unpadded standard base64, as some servers print it.
    std::string unpadded = forms[1];
    while (!unpadded.empty() && unpadded.back() == '=') unpadded.pop_back();
    forms.push_back(std::move(unpadded));
    // As it appears inside a JSON string (a server echoing the request as JSON).
    const std::string quoted = json_quote(value);
    const std::string escaped = quoted.substr(1, quoted.size() - 2);
    forms.push_back(escaped);
    if (escaped.find('/') != std::string::npos) {  // some encoders also write '/' as "\/"
      std::string slashed;
      for (char c : escaped) slashed += c == '/' ? std::string("\\/") : std::string(1, c);
      forms.push_back(std::move(slashed));
    }
    // Longest first, so a form that contains another is replaced whole.
    std::sort(forms.begin(), forms.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
    for (const auto& f : forms) replace_all(text, f);
  }
  for (std::string_view name : {"authorization", "x-api-key", "x-auth-key", "x-auth-token"}) redact_header_values(text, name);
  redact_bearer(text);
  return text;
}

std::string secret_file_label(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) return path;
  const bool secret_alphabet = std::all_of(path.begin(), path.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '+' || c == '/' || c == '=' || c == '-' || c == '_';
  });
  const bool looks_pasted = path.size() >= 16 && secret_alphabet && path.front() != '/';
  if (!looks_pasted) return path;
  return "(a value that is not a file and looks like the secret itself, so not shown; put the secret in a file "
         "readable only by certpilot, chmod 0600, and give that file's path)";
}

}  // namespace certpilot::util
