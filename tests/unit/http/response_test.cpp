// http/response: header lookup, RFC 8288 Link parsing and RFC 9110 Retry-After.
#include <catch2/catch.hpp>

#include "http/client.hpp"

using namespace certpilot;
using http::parse_link_header;
using http::Response;
using Links = std::vector<std::pair<std::string, std::string>>;
using std::chrono::seconds;

namespace {
// Sat, 28 Nov 2026 10:46:39 GMT
const util::SysTime kNow = util::SysTime(seconds(1795862799));

Response with_retry_after(const std::string& value) {
  Response r;
  r.headers.emplace("retry-after", value);
  return r;
}
}  // namespace

TEST_CASE("parse_link_header: several links, quoted and bare rels", "[http]") {
  CHECK(parse_link_header("<https://ca.test/cert/1/1>;rel=\"alternate\", <https://ca.test/cert/1/2>; rel=\"alternate\"") ==
        Links{{"https://ca.test/cert/1/1", "alternate"}, {"https://ca.test/cert/1/2", "alternate"}});
  CHECK(parse_link_header("<https://ca.test/dir>;rel=index") == Links{{"https://ca.test/dir", "index"}});
  CHECK(parse_link_header("<https://ca.test/issuer>; rel=\"up\"") == Links{{"https://ca.test/issuer", "up"}});
  // Other parameters around rel are skipped; relation types are case-insensitive (lower-cased).
  CHECK(parse_link_header("<https://ca.test/a>; title=\"A, B\"; rel=\"UP\"; type=\"x\"") ==
        Links{{"https://ca.test/a", "up"}});
}

TEST_CASE("parse_link_header: one link with several rels gives one pair per rel", "[http]") {
  CHECK(parse_link_header("<https://ca.test/x>; rel=\"up alternate\"") ==
        Links{{"https://ca.test/x", "up"}, {"https://ca.test/x", "alternate"}});
}

TEST_CASE("parse_link_header: a comma inside the target does not split it", "[http]") {
  CHECK(parse_link_header("<https://ca.test/a,b>;rel=\"up\",<https://ca.test/c>;rel=\"index\"") ==
        Links{{"https://ca.test/a,b", "up"}, {"https://ca.test/c", "index"}});
}

TEST_CASE("parse_link_header: garbage and links without rel give nothing", "[http]") {
  CHECK(parse_link_header("").empty());
  CHECK(parse_link_header("no brackets; rel=up").empty());
  CHECK(parse_link_header("<https://ca.test/unterminated; rel=up").empty());
  CHECK(parse_link_header("<https://ca.test/a>; title=\"x\"").empty());
  CHECK(parse_link_header("<https://ca.test/a>; rel").empty());
  CHECK(parse_link_header("<https://ca.test/a>; rel=\"\"").empty());
  // A broken first link does not hide a good second one.
  CHECK(parse_link_header("<https://ca.test/a>, <https://ca.test/b>;rel=up") == Links{{"https://ca.test/b", "up"}});
}

TEST_CASE("Response::header finds lower-case names, links() filters by rel", "[http]") {
  Response r;
  r.headers.emplace("replay-nonce", "abc123");
  r.headers.emplace("link", "<https://ca.test/dir>;rel=\"index\"");
  r.headers.emplace("link", "<https://ca.test/alt1>;rel=\"alternate\"");
  r.headers.emplace("link", "<https://ca.test/alt2>;rel=\"alternate\"");
  CHECK(r.header("replay-nonce") == std::optional<std::string>("abc123"));
  CHECK_FALSE(r.header("location"));
  CHECK(r.links("alternate") == std::vector<std::string>{"https://ca.test/alt1", "https://ca.test/alt2"});
  CHECK(r.links("index") == std::vector<std::string>{"https://ca.test/dir"});
  CHECK(r.links("up").empty());
}

TEST_CASE("Retry-After as delta-seconds", "[http]") {
  CHECK(with_retry_after("120").retry_after(kNow) == seconds(120));
  CHECK(with_retry_after("0").retry_after(kNow) == seconds(0));
  CHECK(with_retry_after("99999999999999").retry_after(kNow) == seconds(999999999));  // capped, no overflow
  CHECK_FALSE(Response().retry_after(kNow));
}

TEST_CASE("Retry-After as an IMF-fixdate, relative to now", "[http]") {
  CHECK(with_retry_after("Sat, 28 Nov 2026 10:47:39 GMT").retry_after(kNow) == seconds(60));
  CHECK(with_retry_after("Sun, 29 Nov 2026 10:46:39 GMT").retry_after(kNow) == seconds(86400));
  // In the past: retry now, never a negative delay.
  CHECK(with_retry_after("Fri, 27 Nov 2026 10:46:39 GMT").retry_after(kNow) == seconds(0));
}

TEST_CASE("Retry-After garbage is ignored", "[http]") {
  CHECK_FALSE(with_retry_after("").retry_after(kNow));
  CHECK_FALSE(with_retry_after("soon").retry_after(kNow));
  CHECK_FALSE(with_retry_after("-5").retry_after(kNow));
  CHECK_FALSE(with_retry_after("1.5").retry_after(kNow));
  CHECK_FALSE(with_retry_after("12s").retry_after(kNow));
  CHECK_FALSE(with_retry_after("2026-11-28T10:47:39Z").retry_after(kNow));
  CHECK_FALSE(with_retry_after("Sat, 28 Nov 2026 10:47:39 UTC").retry_after(kNow));
}

// RFC 9110 §5.6.7: "A recipient that parses a timestamp value in an HTTP field MUST accept all
// three HTTP-date formats." src/http/response.cpp (Response::retry_after) accepts only the
// IMF-fixdate; the obsolete RFC 850 and asctime forms are dropped (low impact: ACME CAs send
// delta-seconds or IMF-fixdate).
TEST_CASE("Retry-After in the obsolete HTTP-date formats", "[http]") {
  CHECK(with_retry_after("Saturday, 28-Nov-26 10:47:39 GMT").retry_after(kNow) == seconds(60));
  CHECK(with_retry_after("Sat Nov 28 10:47:39 2026").retry_after(kNow) == seconds(60));
}
