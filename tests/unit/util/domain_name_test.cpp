#include <catch2/catch.hpp>

#include "util/domain_name.hpp"

using namespace certpilot::util;

namespace {
std::string error_of(std::string_view name) {
  auto r = normalize_domain(name);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == Errc::invalid_input);
  return r.error().message;
}
}  // namespace

TEST_CASE("normalize_domain lowercases and strips the trailing dot", "[util]") {
  CHECK(normalize_domain("Example.COM").value() == "example.com");
  CHECK(normalize_domain("www.example.com.").value() == "www.example.com");
  CHECK(normalize_domain("*.Example.com").value() == "*.example.com");
  CHECK(normalize_domain("xn--bcher-kva.example").value() == "xn--bcher-kva.example");
  CHECK(normalize_domain("a-b.c0.test").value() == "a-b.c0.test");
  CHECK(normalize_domain("localhost").value() == "localhost");
  CHECK(normalize_domain("1.example.com").value() == "1.example.com");  // digits are fine below the TLD
}

TEST_CASE("normalize_domain accepts names at the length limits", "[util]") {
  const std::string label63(63, 'a');
  CHECK(normalize_domain(label63 + ".test").has_value());
  // 4 labels of 63 + 3 dots = 255; trim to exactly 253.
  std::string name = std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') + "." +
                     std::string(61, 'd');
  REQUIRE(name.size() == 253);
  CHECK(normalize_domain(name).has_value());
  CHECK(normalize_domain(name + ".").has_value());  // the trailing dot does not count
}

TEST_CASE("normalize_domain rejects malformed names with the name and the problem", "[util]") {
  CHECK(error_of("") == "invalid domain name \"\": empty name");
  CHECK(error_of(".") == "invalid domain name \".\": empty name");
  CHECK(error_of("exa mple.com") == "invalid domain name \"exa mple.com\": contains a space");
  CHECK(error_of("a..b.com").find("empty label") != std::string::npos);
  CHECK(error_of(".example.com").find("empty label") != std::string::npos);
  CHECK(error_of("under_score.example.com").find("'_' is not allowed") != std::string::npos);
  CHECK(error_of("-lead.example.com").find("starts or ends with '-'") != std::string::npos);
  CHECK(error_of("trail-.example.com").find("starts or ends with '-'") != std::string::npos);
  CHECK(error_of(std::string(64, 'a') + ".com").find("longer than 63") != std::string::npos);
  CHECK(error_of("b\xC3\xBC" "cher.example").find("punycode") != std::string::npos);
  CHECK(error_of("bad\nname.com").find("control character") != std::string::npos);
  CHECK(error_of("bad\nname.com").find('\n') == std::string::npos);
}

TEST_CASE("normalize_domain rejects names over 253 characters", "[util]") {
  std::string name = std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') + "." +
                     std::string(62, 'd');
  REQUIRE(name.size() == 254);
  CHECK(error_of(name).find("longer than 253 characters (254)") != std::string::npos);
}

TEST_CASE("normalize_domain allows a wildcard only as the whole first label", "[util]") {
  CHECK(error_of("a.*.example.com").find("only allowed as the whole leftmost label") != std::string::npos);
  CHECK(error_of("f*.example.com").find("only allowed as the whole leftmost label") != std::string::npos);
  CHECK(error_of("*.*.example.com").find("only allowed as the whole leftmost label") != std::string::npos);
  CHECK(error_of("*").find("bare") != std::string::npos);
  CHECK(error_of("*.").find("bare") != std::string::npos);
}

TEST_CASE("normalize_domain rejects IP addresses", "[util]") {
  CHECK(error_of("192.0.2.1").find("IP address") != std::string::npos);
  CHECK(error_of("10.0.0.256").find("IP address") != std::string::npos);
  CHECK(error_of("::1").find("IPv6") != std::string::npos);
  CHECK(error_of("2001:db8::1").find("IPv6") != std::string::npos);
  CHECK(error_of("[::1]").find("IPv6") != std::string::npos);
}

TEST_CASE("wildcard helpers", "[util]") {
  CHECK(is_wildcard_domain("*.example.com"));
  CHECK_FALSE(is_wildcard_domain("example.com"));
  CHECK(domain_without_wildcard("*.example.com") == "example.com");
  CHECK(domain_without_wildcard("www.example.com") == "www.example.com");
}

TEST_CASE("check_dns01_name_length: _acme-challenge.<name> must fit in 253 characters", "[util]") {
  using certpilot::util::check_dns01_name_length;
  const std::string label(63, 'a');
  const std::string base = label + "." + label + "." + label + "." + std::string(40, 'c') + ".test";  // 237
  REQUIRE(base.size() == 237);
  CHECK(check_dns01_name_length(base));
  CHECK(check_dns01_name_length("*." + base));  // the wildcard shares its base name's challenge name
  const std::string too_long = "d" + base;      // 238
  const auto r = check_dns01_name_length(too_long);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == certpilot::util::Errc::invalid_input);
  CHECK_THAT(r.error().message, Catch::Contains("too long for DNS-01") && Catch::Contains("would be 254 characters") &&
                                    Catch::Contains("at most 237 (239 with \"*.\")"));
}
