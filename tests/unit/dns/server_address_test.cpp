// dns/server_address: the one HOST[:PORT] parser for resolvers and the rfc2136 server. Negative
// cases first: a port is never cut to 16 bits, an empty host or garbage is refused with what to fix.
#include <catch2/catch.hpp>

#include "dns/resolver.hpp"
#include "dns/rfc2136/rfc2136_provider.hpp"
#include "dns/server_address.hpp"
#include "fake_secrets.hpp"

using namespace certpilot;
using certpilot::util::Errc;

namespace {

std::string resolver_error(const std::string& text) {
  auto r = dns::normalize_resolver(text);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::invalid_input);
  return r.error().message;
}

}  // namespace

TEST_CASE("resolver addresses: ports outside 1-65535 are refused, never wrapped", "[dns]") {
  CHECK(resolver_error("127.0.0.1:99999") == "bad port 99999 (1-65535)");
  CHECK(resolver_error("127.0.0.1:65536") == "bad port 65536 (1-65535)");
  CHECK(resolver_error("127.0.0.1:0") == "bad port 0 (1-65535)");
  CHECK(resolver_error("127.0.0.1:00000") == "bad port 00000 (1-65535)");
  CHECK(resolver_error("[::1]:70000") == "bad port 70000 (1-65535)");
  // 2^64 + 53 would be 53 after an unchecked conversion.
  CHECK_THAT(resolver_error("127.0.0.1:18446744073709551669"), Catch::StartsWith("bad port 1844674407") &&
                                                                   Catch::EndsWith("(1-65535)"));
  CHECK(resolver_error("127.0.0.1:dns") == "bad port \"dns\" (1-65535)");
  CHECK(resolver_error("127.0.0.1:-53") == "bad port \"-53\" (1-65535)");
  CHECK(resolver_error("127.0.0.1:") == "no port after ':' in \"127.0.0.1:\" (1-65535)");
}

TEST_CASE("resolver addresses: empty hosts, names and garbage are refused with the forms to use", "[dns]") {
  CHECK(resolver_error("") == "empty address; use IP, IP:PORT or [IPV6]:PORT");
  CHECK(resolver_error(":53") == "no address before \":53\"; use IP, IP:PORT or [IPV6]:PORT");
  CHECK(resolver_error("[]:53") == "\"\" in brackets is not an IPv6 address; use IP, IP:PORT or [IPV6]:PORT");
  CHECK(resolver_error("[::1") == "\"[::1\" misses ']'; use IP, IP:PORT or [IPV6]:PORT");
  CHECK(resolver_error("[::1]53") == "\"[::1]53\" has text after ']'; use IP, IP:PORT or [IPV6]:PORT");
  CHECK(resolver_error("[127.0.0.1]:53") ==
        "\"127.0.0.1\" in brackets is not an IPv6 address; use IP, IP:PORT or [IPV6]:PORT");
  CHECK(resolver_error("dns.example.test:53") ==
        "\"dns.example.test\" is a host name, but a resolver is given by address; use IP, IP:PORT or [IPV6]:PORT");
  CHECK(resolver_error("256.1.1.1") == "\"256.1.1.1\" is not an IP address; use IP, IP:PORT or [IPV6]:PORT");
  CHECK(resolver_error("not an address!") == "\"not an address!\" is not an IP address; use IP, IP:PORT or [IPV6]:PORT");
  CHECK(resolver_error("::g") == "\"::g\" is not an IPv6 address; use IP, IP:PORT or [IPV6]:PORT");
}

TEST_CASE("resolver addresses are normalized to ip:port for c-ares", "[dns]") {
  CHECK(dns::normalize_resolver("127.0.0.1").value() == "127.0.0.1:53");
  CHECK(dns::normalize_resolver(" 127.0.0.1:5353 ").value() == "127.0.0.1:5353");
  CHECK(dns::normalize_resolver("127.0.0.1:65535").value() == "127.0.0.1:65535");
  CHECK(dns::normalize_resolver("127.0.0.1:1").value() == "127.0.0.1:1");
  CHECK(dns::normalize_resolver("127.0.0.1:000053").value() == "127.0.0.1:53");
  CHECK(dns::normalize_resolver("::1").value() == "[::1]:53");
  CHECK(dns::normalize_resolver("[::1]").value() == "[::1]:53");
  CHECK(dns::normalize_resolver("[2001:db8::53]:5300").value() == "[2001:db8::53]:5300");
  auto list = dns::normalize_resolvers({"127.0.0.1", "127.0.0.2:99999"});
  REQUIRE_FALSE(list);
  CHECK(list.error().message == "bad port 99999 (1-65535)");
  CHECK(dns::normalize_resolvers({"127.0.0.1", "::1"}).value() == std::vector<std::string>{"127.0.0.1:53", "[::1]:53"});
}

TEST_CASE("the rfc2136 server may be a host name, checked the same way", "[dns]") {
  auto name = dns::parse_server_address("ns1.example.test:5353", true);
  REQUIRE(name);
  CHECK(name->host == "ns1.example.test");
  CHECK(name->port == std::uint16_t{5353});
  CHECK_FALSE(name->is_ip);
  auto ip = dns::parse_server_address("[::1]:53", true);
  REQUIRE(ip);
  CHECK(ip->is_ip);
  CHECK(ip->host == "::1");
  auto bare = dns::parse_server_address("ns1.example.test", true);
  REQUIRE(bare);
  CHECK_FALSE(bare->port);
  auto bad = dns::parse_server_address("ns1.example.test:99999", true);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message == "bad port 99999 (1-65535)");
  auto garbage = dns::parse_server_address("ns1 example", true);
  REQUIRE_FALSE(garbage);
  CHECK(garbage.error().message ==
        "\"ns1 example\" is neither an IP address nor a host name; use HOST, HOST:PORT or [IPV6]:PORT");
  CHECK_FALSE(dns::parse_server_address(":53", true));
  CHECK_FALSE(dns::parse_server_address("-ns1.test", true));
}

TEST_CASE("a Resolver refuses a bad server list instead of letting c-ares wrap the port", "[dns]") {
  auto r = dns::Resolver::create({{"127.0.0.1:99999"}, std::chrono::milliseconds(100), 1, true, false});
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::invalid_input);
  CHECK(r.error().message == "DNS servers: bad port 99999 (1-65535)");
  auto ok = dns::Resolver::create({{"127.0.0.1:5399", "::1"}, std::chrono::milliseconds(100), 1, true, false});
  REQUIRE(ok);
  CHECK((*ok)->description() == "127.0.0.1:5399,[::1]:53");
  CHECK_FALSE((*ok)->asks_system_resolvers());
}

TEST_CASE("rfc2136: the resolvers it asks are the operator's unless its own option names others", "[dns]") {
  const auto read = test::fake_secrets({{"VAR", "c2VjcmV0"}});
  const dns::ProviderOptions base{{"tsig-key-name", "k"}, {"tsig-secret-env", "VAR"}};
  CHECK(dns::make_rfc2136_provider(base, read, {"127.0.0.1:5353"}));
  auto bad_given = dns::make_rfc2136_provider(base, read, {"127.0.0.1:99999"});
  REQUIRE_FALSE(bad_given);
  CHECK(bad_given.error().message == "rfc2136: resolvers: bad port 99999 (1-65535)");
  auto own = base;
  own["resolvers"] = "127.0.0.1:53,127.0.0.1:0";
  auto bad_own = dns::make_rfc2136_provider(own, read, {"127.0.0.1:5353"});
  REQUIRE_FALSE(bad_own);
  CHECK(bad_own.error().code == Errc::invalid_input);
  CHECK(bad_own.error().message == "rfc2136: option resolvers: bad port 0 (1-65535)");
}
