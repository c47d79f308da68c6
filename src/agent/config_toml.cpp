#include "agent/config_toml.hpp"

#include <algorithm>

#include "util/time.hpp"

namespace certpilot::agent::detail {

namespace {

std::string type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a number";
    case toml::node_type::boolean: return "true/false";
    case toml::node_type::array: return "an array";
    case toml::node_type::table: return "a table";
    default: return "a date/time";
  }
}

std::string qualified(std::string_view where, std::string_view key) {
  return std::string(where) + (where.empty() ? "" : " ") + std::string(key);
}

}  // namespace

void TomlReader::issue_at(const toml::source_region& where, std::string message) {
  issues_.push_back({where.begin.line, where.begin.column, std::move(message)});
}

void TomlReader::issue(const toml::node* node, std::string message) {
  if (node) {
    issue_at(node->source(), std::move(message));
  } else {
    issues_.push_back({0, 0, std::move(message)});
  }
}

void TomlReader::warn(const toml::node* node, std::string message) {
  if (node) warnings_.push_back({node->source().begin.line, node->source().begin.column, std::move(message)});
  else warnings_.push_back({0, 0, std::move(message)});
}

void TomlReader::reject_unknown(const toml::table& tbl, std::string_view where,
                                std::initializer_list<std::string_view> allowed) {
  for (auto&& [key, value] : tbl) {
    if (std::find(allowed.begin(), allowed.end(), key.str()) != allowed.end()) continue;
    std::string list;
    for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
    issue_at(key.source(), "unknown key \"" + std::string(key.str()) + "\" in " + std::string(where) +
                               " (a typo?); allowed keys: " + list);
  }
}

std::optional<std::string> TomlReader::get_string(const toml::table& tbl, std::string_view key,
                                                  std::string_view where, bool required) {
  const toml::node* n = tbl.get(key);
  if (!n) {
    if (required) issue_at(tbl.source(), qualified(where, key) + " is required");
    return std::nullopt;
  }
  if (const auto* s = n->as_string()) return s->get();
  issue(n, qualified(where, key) + " must be a string (in quotes), not " + type_name(*n));
  return std::nullopt;
}

std::optional<bool> TomlReader::get_bool(const toml::table& tbl, std::string_view key, std::string_view where) {
  const toml::node* n = tbl.get(key);
  if (!n) return std::nullopt;
  if (const auto* b = n->as_boolean()) return b->get();
  issue(n, qualified(where, key) + " must be true or false, not " + type_name(*n));
  return std::nullopt;
}

std::optional<std::int64_t> TomlReader::get_int(const toml::table& tbl, std::string_view key, std::string_view where,
                                                std::int64_t min, std::int64_t max) {
  const toml::node* n = tbl.get(key);
  if (!n) return std::nullopt;
  const auto* i = n->as_integer();
  if (!i) {
    issue(n, qualified(where, key) + " must be an integer, not " + type_name(*n));
    return std::nullopt;
  }
  if (i->get() < min || i->get() > max) {
    issue(n, qualified(where, key) + " must be between " + std::to_string(min) + " and " + std::to_string(max) +
                 ", not " + std::to_string(i->get()));
    return std::nullopt;
  }
  return i->get();
}

std::optional<std::chrono::seconds> TomlReader::get_duration(const toml::table& tbl, std::string_view key,
                                                             std::string_view where) {
  const toml::node* n = tbl.get(key);
  if (!n) return std::nullopt;
  if (const auto* i = n->as_integer()) {
    if (i->get() >= 0) return std::chrono::seconds(i->get());
  } else if (const auto* s = n->as_string()) {
    if (auto d = util::parse_duration(s->get())) return d;
  }
  issue(n, qualified(where, key) + " must be a duration like \"90s\", \"2m\", \"1h30m\", \"30d\" or a number of seconds");
  return std::nullopt;
}

std::optional<std::vector<std::string>> TomlReader::get_string_array(const toml::table& tbl, std::string_view key,
                                                                     std::string_view where, bool required) {
  const toml::node* n = tbl.get(key);
  if (!n) {
    if (required) issue_at(tbl.source(), qualified(where, key) + " is required");
    return std::nullopt;
  }
  const auto* arr = n->as_array();
  if (!arr) {
    issue(n, qualified(where, key) + " must be an array of strings, e.g. [\"a\", \"b\"]");
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool ok = true;
  for (const auto& el : *arr) {
    if (const auto* s = el.as_string()) {
      out.push_back(s->get());
    } else {
      issue(&el, qualified(where, key) + " must hold only strings, found " + type_name(el));
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

std::vector<const toml::node*> TomlReader::elements(const toml::table& tbl, std::string_view key) {
  std::vector<const toml::node*> out;
  if (const auto* arr = tbl.get(key) ? tbl.get(key)->as_array() : nullptr) {
    for (const auto& el : *arr) out.push_back(&el);
  }
  return out;
}

}  // namespace certpilot::agent::detail
