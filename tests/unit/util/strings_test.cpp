// util/strings: the small helpers every module uses.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "util/strings.hpp"

using namespace certpilot::util;

TEST_CASE("to_lower, iequals and starts_with_icase are ASCII case-insensitive", "[util][strings]") {
  CHECK(to_lower("Replay-Nonce") == "replay-nonce");
  CHECK(to_lower("") == "");
  CHECK(to_lower("ABC123-_") == "abc123-_");
  CHECK(iequals("Link", "lINK"));
  CHECK_FALSE(iequals("Link", "Lin"));
  CHECK_FALSE(iequals("Link", "Lino"));
  CHECK(iequals("", ""));
  CHECK(starts_with_icase("HTTP/1.1 200 OK", "http/"));
  CHECK(starts_with_icase("abc", ""));
  CHECK_FALSE(starts_with_icase("ht", "http"));
  CHECK_FALSE(starts_with_icase("xhttp", "http"));
}

TEST_CASE("trim removes spaces, tabs, CR and LF at both ends only", "[util][strings]") {
  CHECK(trim("  a b \t\r\n") == "a b");
  CHECK(trim("\r\n") == "");
  CHECK(trim("") == "");
  CHECK(trim("x") == "x");
  CHECK(trim("\va\v") == "\va\v");  // vertical tab is not trimmed
}

TEST_CASE("split keeps empty fields", "[util][strings]") {
  CHECK(split("a,b,c", ',') == std::vector<std::string>{"a", "b", "c"});
  CHECK(split("", ',') == std::vector<std::string>{""});
  CHECK(split(",a,", ',') == std::vector<std::string>{"", "a", ""});
  CHECK(split("a,,b", ',') == std::vector<std::string>{"a", "", "b"});
  CHECK(split("no-sep", ',') == std::vector<std::string>{"no-sep"});
}

TEST_CASE("join puts the separator between parts only", "[util][strings]") {
  CHECK(join({}, ", ") == "");
  CHECK(join({"a"}, ", ") == "a");
  CHECK(join({"a", "b", "c"}, ", ") == "a, b, c");
  CHECK(join({"", ""}, "|") == "|");
}

TEST_CASE("json_quote produces a JSON string literal", "[util][strings]") {
  CHECK(json_quote("") == "\"\"");
  CHECK(json_quote("plain") == "\"plain\"");
  CHECK(json_quote("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(json_quote("l1\nl2\r\t") == "\"l1\\nl2\\r\\t\"");
  CHECK(json_quote(std::string("\x01\x1f", 2)) == "\"\\u0001\\u001f\"");
  // Whatever goes in, nlohmann reads the same text back.
  const std::string tricky = std::string("q\"\\\n\x02 \xc3\xa9 end", 12);
  const auto parsed = nlohmann::json::parse(json_quote(tricky), nullptr, false);
  REQUIRE_FALSE(parsed.is_discarded());
  CHECK(parsed.get<std::string>() == tricky);
}

TEST_CASE("hex_encode in lower and upper case", "[util][strings]") {
  CHECK(hex_encode("") == "");
  CHECK(hex_encode(std::string("\x00\x0f\xab\xff", 4)) == "000fabff");
  CHECK(hex_encode(std::string("\x00\x0f\xab\xff", 4), true) == "000FABFF");
}

TEST_CASE("printable_excerpt replaces control characters, truncates and trims", "[util][strings]") {
  CHECK(printable_excerpt("line1\nline2\r\n") == "line1 line2");
  CHECK(printable_excerpt(std::string("a\x00z\x7f", 4)) == "a z");
  CHECK(printable_excerpt("  <html>  ") == "<html>");
  CHECK(printable_excerpt("abcdefghij", 4) == "abcd...");
  CHECK(printable_excerpt("abcd", 4) == "abcd");
  CHECK(printable_excerpt("") == "");
  CHECK(printable_excerpt(std::string(1000, 'x')).size() == 303);  // default 300 + "..."
}

// BUG (src/util/strings.cpp, printable_excerpt): truncation counts bytes and can cut a UTF-8
// sequence in half. The excerpt then holds invalid UTF-8, and in JSON log mode (util/log) the
// line containing it is not valid JSON (nlohmann refuses it). Problem details and server bodies
// in other languages reach this path (acme/problem.cpp truncates at 500/300 bytes).
TEST_CASE("printable_excerpt keeps UTF-8 valid when it truncates", "[util][strings]") {
  std::string accents;
  for (int i = 0; i < 10; ++i) accents += "\xc3\xa9";  // "é" x 10, 20 bytes
  const std::string cut = printable_excerpt(accents, 5);
  const auto parsed = nlohmann::json::parse(json_quote(cut), nullptr, false);
  CHECK_FALSE(parsed.is_discarded());
}
