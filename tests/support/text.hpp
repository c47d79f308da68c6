#pragma once
// Small text helpers for assertions on logs, command output and DNS answers.
#include <string>

namespace certpilot::test {

// Number of non-overlapping occurrences of `needle` in `text`.
inline int count_of(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
  return n;
}

}  // namespace certpilot::test
