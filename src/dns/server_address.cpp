#include "dns/server_address.hpp"

#include <arpa/inet.h>

#include <algorithm>

#include "dns/resolver.hpp"
#include "util/strings.hpp"

namespace certpilot::dns {

using util::Errc;
using util::fail;

namespace {

bool is_ipv4(const std::string& s) {
  in_addr a{};
  return inet_pton(AF_INET, s.c_str(), &a) == 1;
}

bool is_ipv6(const std::string& s) {
  in6_addr a{};
  return inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

// RFC 1123 §2.1 host names (underscores tolerated: some internal names carry them).
bool is_host_name(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  for (const auto& label : util::split(s.back() == '.' ? s.substr(0, s.size() - 1) : s, '.')) {
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    const bool ok = std::all_of(label.begin(), label.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    });
    if (!ok) return false;
  }
  return true;
}

std::string quoted(std::string_view text) { return "\"" + util::printable_excerpt(text, 60) + "\""; }

}  // namespace

util::Result<ServerAddress> parse_server_address(std::string_view text, bool allow_names) {
  const std::string forms = allow_names ? "HOST, HOST:PORT or [IPV6]:PORT" : "IP, IP:PORT or [IPV6]:PORT";
  const auto bad = [&](const std::string& why) { return fail(Errc::invalid_input, why + "; use " + forms); };
  if (text.empty()) return bad("empty address");
  std::string host;
  std::optional<std::string> port;
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return bad(quoted(text) + " misses ']'");
    host = std::string(text.substr(1, close - 1));
    const auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return bad(quoted(text) + " has text after ']'");
      port = std::string(rest.substr(1));
    }
    if (!is_ipv6(host)) return bad(quoted(host) + " in brackets is not an IPv6 address");
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    const auto colon = text.find(':');
    host = std::string(text.substr(0, colon));
    port = std::string(text.substr(colon + 1));
  } else {
    host = std::string(text);  // a name, an IPv4 address or a bare IPv6 address
  }
  if (host.empty()) return bad("no address before " + quoted(text.substr(text.find(':'))));

  ServerAddress out;
  if (port) {
    const std::string& p = *port;
    if (p.empty()) return fail(Errc::invalid_input, "no port after ':' in " + quoted(text) + " (1-65535)");
    if (p.find_first_not_of("0123456789") != std::string::npos) {
      return fail(Errc::invalid_input, "bad port " + quoted(p) + " (1-65535)");
    }
    // Compared as text first: a long run of digits must not overflow into a valid-looking port.
    const std::string digits = p.substr(std::min(p.find_first_not_of('0'), p.size()));
    if (digits.empty() || digits.size() > 5 || std::stol(digits) > 65535) {
      return fail(Errc::invalid_input, "bad port " + util::printable_excerpt(p, 20) + " (1-65535)");
    }
    out.port = static_cast<std::uint16_t>(std::stol(digits));
  }
  out.is_ip = is_ipv4(host) || is_ipv6(host);
  if (!out.is_ip) {
    if (host.find(':') != std::string::npos) return bad(quoted(host) + " is not an IPv6 address");
    if (!allow_names) {
      const bool looks_numeric = host.find_first_not_of("0123456789.") == std::string::npos;
      return bad(quoted(host) + (looks_numeric || !is_host_name(host)
                                     ? " is not an IP address"
                                     : " is a host name, but a resolver is given by address"));
    }
    if (!is_host_name(host)) return bad(quoted(host) + " is neither an IP address nor a host name");
  }
  out.host = std::move(host);
  return out;
}

util::Result<std::string> normalize_resolver(std::string_view text) {
  auto a = parse_server_address(util::trim(text), false);
  if (!a) return fail(a.error());
  return address_with_port(a->host, a->port.value_or(53));
}

util::Result<std::vector<std::string>> normalize_resolvers(const std::vector<std::string>& items) {
  std::vector<std::string> out;
  for (const auto& item : items) {
    auto one = normalize_resolver(item);
    if (!one) return fail(one.error());
    out.push_back(std::move(*one));
  }
  return out;
}

}  // namespace certpilot::dns
