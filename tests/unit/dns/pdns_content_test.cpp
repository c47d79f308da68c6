#include <catch2/catch.hpp>

#include "dns/pdns/pdns_provider.hpp"

using namespace certpilot::dns;

TEST_CASE("PowerDNS TXT content is quoted and unquoted in zone-file form", "[dns]") {
  CHECK(quote_txt_content("abc") == "\"abc\"");
  CHECK(quote_txt_content("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(quote_txt_content(std::string(300, 'x')) == "\"" + std::string(255, 'x') + "\" \"" + std::string(45, 'x') + "\"");
  CHECK(unquote_txt_content("\"abc\"").value() == "abc");
  CHECK(unquote_txt_content("\"a\" \"b\"").value() == "ab");
  CHECK(unquote_txt_content("\"a\\\"b\\\\c\"").value() == "a\"b\\c");
  CHECK(unquote_txt_content("\"\\065\"").value() == "A");
  CHECK(unquote_txt_content(quote_txt_content(std::string(600, 'z'))).value() == std::string(600, 'z'));
}

TEST_CASE("malformed PowerDNS TXT content is rejected", "[dns]") {
  CHECK_FALSE(unquote_txt_content(""));
  CHECK_FALSE(unquote_txt_content("abc"));
  CHECK_FALSE(unquote_txt_content("\"abc"));
  CHECK_FALSE(unquote_txt_content("\"abc\\"));
  CHECK_FALSE(unquote_txt_content("\"a\" b"));
}
