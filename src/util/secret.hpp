#pragma once
// A value that must never reach a log line or an error message: TSIG secrets, EAB keys, API tokens.
// Printing it (operator<<, to_string) gives "<redacted>"; reading it needs the explicit reveal().
#include <ostream>
#include <string>
#include <utility>

namespace certpilot::util {

template <class T>
class Secret {
 public:
  Secret() = default;
  explicit Secret(T value) : value_(std::move(value)) {}
  const T& reveal() const { return value_; }
  bool empty() const { return value_.empty(); }
  friend std::ostream& operator<<(std::ostream& os, const Secret&) { return os << "<redacted>"; }
  friend std::string to_string(const Secret&) { return "<redacted>"; }

 private:
  T value_{};
};

using SecretString = Secret<std::string>;

}  // namespace certpilot::util
