#pragma once
// Internal to agent/config*.cpp: typed accessors over toml++ nodes that record an issue (with the
// node's line and column) instead of failing, so one pass reports every problem.
#include <toml++/toml.h>

#include <chrono>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/config.hpp"

namespace certpilot::agent::detail {

class TomlReader {
 public:
  void issue(const toml::node* node, std::string message);
  void issue_at(const toml::source_region& where, std::string message);
  // Something that will fail later but does not make the config invalid.
  void warn(const toml::node* node, std::string message);
  std::vector<ConfigIssue>& issues() { return issues_; }
  std::vector<ConfigIssue>& warnings() { return warnings_; }

  // Every key of tbl must be in allowed; `where` names the section in the message ("[ca]").
  void reject_unknown(const toml::table& tbl, std::string_view where, std::initializer_list<std::string_view> allowed);

  std::optional<std::string> get_string(const toml::table& tbl, std::string_view key, std::string_view where,
                                        bool required = false);
  std::optional<bool> get_bool(const toml::table& tbl, std::string_view key, std::string_view where);
  std::optional<std::int64_t> get_int(const toml::table& tbl, std::string_view key, std::string_view where,
                                      std::int64_t min, std::int64_t max);
  // A string like "90s", "2m", "1h30m", "30d" or an integer number of seconds.
  std::optional<std::chrono::seconds> get_duration(const toml::table& tbl, std::string_view key,
                                                   std::string_view where);
  std::optional<std::vector<std::string>> get_string_array(const toml::table& tbl, std::string_view key,
                                                           std::string_view where, bool required = false);
  // The string elements' nodes too, for per-element messages.
  std::vector<const toml::node*> elements(const toml::table& tbl, std::string_view key);

 private:
  std::vector<ConfigIssue> issues_;
  std::vector<ConfigIssue> warnings_;
};

}  // namespace certpilot::agent::detail
