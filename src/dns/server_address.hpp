#pragma once
// HOST[:PORT] text naming a DNS server: the operator's resolvers (--dns-resolver, `resolvers` in a
// [dns.*] section, the rfc2136 `resolvers` option) and the rfc2136 `server`. One parser, so every
// place checks the port range and the host the same way (a port is never cut to 16 bits).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace certpilot::dns {

struct ServerAddress {
  std::string host;  // an IP address (IPv6 without brackets) or, where allowed, a host name
  std::optional<std::uint16_t> port;
  bool is_ip = false;
};

// Accepts IP, IP:PORT, [IPV6], [IPV6]:PORT and a bare IPv6 address; with allow_names also NAME and
// NAME:PORT. Errors are Errc::invalid_input, say what is wrong and how to write it, and quote at
// most a short excerpt of the text: "bad port 99999 (1-65535)", "no address before \":53\"; ...".
// The caller prefixes the flag or option ("--dns-resolver: ...").
util::Result<ServerAddress> parse_server_address(std::string_view text, bool allow_names);

// One resolver as c-ares takes it: "ip:port" or "[ipv6]:port" (port 53 when none is given).
// Host names are refused: a resolver is asked by address.
util::Result<std::string> normalize_resolver(std::string_view text);
// Every item normalized; the first bad one is the error.
util::Result<std::vector<std::string>> normalize_resolvers(const std::vector<std::string>& items);

}  // namespace certpilot::dns
