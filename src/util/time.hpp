#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "util/clock.hpp"

namespace certpilot::util {

// RFC 3339 timestamps as ACME sends them ("2026-11-28T10:46:39Z", fractions and offsets allowed).
std::optional<SysTime> parse_rfc3339(std::string_view text);
std::string format_rfc3339(SysTime t);
// "3d 4h", "12m 5s": for humans, in status lines and logs.
std::string format_duration(std::chrono::seconds d);
// "90s", "2m", "1h30m", "30d", or a bare number of seconds.
std::optional<std::chrono::seconds> parse_duration(std::string_view text);

}  // namespace certpilot::util
