#include <ctime>

#include "http/client.hpp"
#include "util/strings.hpp"

namespace certpilot::http {

std::optional<std::string> Response::header(const std::string& lower_name) const {
  const auto it = headers.find(lower_name);
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

std::vector<std::pair<std::string, std::string>> parse_link_header(const std::string& value) {
  // Link: <url>; rel="alternate", <url2>;rel=up  — a small RFC 8288 subset: what ACME CAs send.
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t pos = 0;
  while (pos < value.size()) {
    const auto lt = value.find('<', pos);
    if (lt == std::string::npos) break;
    const auto gt = value.find('>', lt);
    if (gt == std::string::npos) break;
    std::string target = value.substr(lt + 1, gt - lt - 1);
    auto next = value.find('<', gt);
    // Parameters are between '>' and the next ',' that precedes the next '<'.
    std::string params = value.substr(gt + 1, next == std::string::npos ? std::string::npos : next - gt - 1);
    std::string rel;
    for (auto& p : util::split(params, ';')) {
      auto kv = util::trim(p);
      if (!util::starts_with_icase(kv, "rel")) continue;
      const auto eq = kv.find('=');
      if (eq == std::string::npos) continue;
      auto v = util::trim(kv.substr(eq + 1));
      while (!v.empty() && (v.back() == ',' || v.back() == ' ')) v.remove_suffix(1);
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      rel = std::string(v);
    }
    // rel may hold several space-separated relation types.
    for (auto& r : util::split(rel, ' ')) {
      if (!r.empty()) out.emplace_back(target, util::to_lower(r));
    }
    if (next == std::string::npos) break;
    pos = next;
  }
  return out;
}

std::vector<std::string> Response::links(const std::string& rel) const {
  std::vector<std::string> out;
  const auto [begin, end] = headers.equal_range("link");
  for (auto it = begin; it != end; ++it) {
    for (auto& [target, r] : parse_link_header(it->second)) {
      if (r == rel) out.push_back(target);
    }
  }
  return out;
}

std::optional<std::chrono::seconds> Response::retry_after(util::SysTime now) const {
  const auto value = header("retry-after");
  if (!value || value->empty()) return std::nullopt;
  const std::string v(util::trim(*value));
  if (v.find_first_not_of("0123456789") == std::string::npos) {
    if (v.size() > 9) return std::chrono::seconds(999999999);
    return std::chrono::seconds(std::stol(v));
  }
  // RFC 9110 §5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime forms, MUST be accepted.
  std::tm tm{};
  bool parsed = false;
  for (const char* format : {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"}) {
    tm = std::tm{};
    const char* end = strptime(v.c_str(), format, &tm);
    if (end != nullptr && *end == '\0') {
      parsed = true;
      break;
    }
  }
  if (!parsed) return std::nullopt;
  const auto at = std::chrono::system_clock::from_time_t(timegm(&tm));
  const auto delta = std::chrono::duration_cast<std::chrono::seconds>(at - now);
  return delta.count() < 0 ? std::chrono::seconds(0) : delta;
}

}  // namespace certpilot::http
