#pragma once
// Typed reads of fields in JSON that came from the network: a missing field or one of another type
// gives the fallback. nlohmann's value() throws type_error on a wrong type, which must never
// happen on input a server controls (STYLE.md: never abort on network input).
#include <string>

#include <nlohmann/json.hpp>

namespace certpilot::acme::detail {

inline std::string str_or(const nlohmann::json& doc, const char* key, std::string fallback = {}) {
  if (!doc.is_object()) return fallback;
  const auto it = doc.find(key);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : fallback;
}

}  // namespace certpilot::acme::detail
