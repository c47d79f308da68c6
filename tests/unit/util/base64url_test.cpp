#include <catch2/catch.hpp>

#include "util/base64url.hpp"

using namespace certpilot::util;

TEST_CASE("base64url encodes RFC 4648 vectors without padding", "[util]") {
  CHECK(base64url_encode("") == "");
  CHECK(base64url_encode("f") == "Zg");
  CHECK(base64url_encode("fo") == "Zm8");
  CHECK(base64url_encode("foo") == "Zm9v");
  CHECK(base64url_encode("foob") == "Zm9vYg");
  CHECK(base64url_encode("fooba") == "Zm9vYmE");
  CHECK(base64url_encode("foobar") == "Zm9vYmFy");
  CHECK(base64url_encode(std::string("\xfb\xff\xbf", 3)) == "-_-_");
}

TEST_CASE("base64url decodes with or without padding and rejects garbage", "[util]") {
  CHECK(base64url_decode("Zm9vYg").value() == "foob");
  CHECK(base64url_decode("Zm9vYg==").value() == "foob");
  CHECK(base64url_decode("-_-_").value() == std::string("\xfb\xff\xbf", 3));
  CHECK_FALSE(base64url_decode("Zm9v+g").has_value());  // '+' is the standard alphabet
  CHECK_FALSE(base64url_decode("Z").has_value());       // dangling character
  CHECK_FALSE(base64url_decode("Zg=a").has_value());    // data after padding
}

TEST_CASE("standard base64 round-trips and skips whitespace", "[util]") {
  CHECK(base64_encode("foob") == "Zm9vYg==");
  CHECK(base64_decode("Zm9v\nYg==\n").value() == "foob");
  CHECK_FALSE(base64_decode("Zm9v-g").has_value());
}
