#pragma once
// Typed reads of fields in JSON that came from the network: a missing field or one of another type
// gives the fallback. nlohmann's value() throws type_error on a wrong type, which must never
// happen on input a server controls (STYLE.md: never abort on network input).
#include <string>

#include <nlohmann/json.hpp>

namespace certpilot::dns::detail {

inline std::string str_or(const nlohmann::json& doc, const char* key, std::string fallback = {}) {
  if (!doc.is_object()) return fallback;
  const auto it = doc.find(key);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : fallback;
}

}  // namespace certpilot::dns::detail

namespace certpilot::dns::detail {

inline bool bool_or(const nlohmann::json& doc, const char* key, bool fallback) {
  if (!doc.is_object()) return fallback;
  const auto it = doc.find(key);
  return it != doc.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

inline long long int_or(const nlohmann::json& doc, const char* key, long long fallback) {
  if (!doc.is_object()) return fallback;
  const auto it = doc.find(key);
  return it != doc.end() && it->is_number_integer() ? it->get<long long>() : fallback;
}

inline nlohmann::json array_or_empty(const nlohmann::json& doc, const char* key) {
  if (!doc.is_object()) return nlohmann::json::array();
  const auto it = doc.find(key);
  return it != doc.end() && it->is_array() ? *it : nlohmann::json::array();
}

}  // namespace certpilot::dns::detail
