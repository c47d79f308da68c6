// acme/problem: RFC 8555 §6.7 problem documents to util::Error.
#include <catch2/catch.hpp>

#include "acme/problem.hpp"

using namespace certpilot;
using util::Errc;

namespace {
util::Error error_for(const std::string& short_type, std::optional<std::chrono::seconds> retry_after = std::nullopt) {
  acme::Problem p;
  p.type = acme::kAcmeErrorPrefix + short_type;
  p.detail = "detail of " + short_type;
  return acme::problem_error(p, retry_after);
}
}  // namespace

TEST_CASE("parse_problem reads type, detail, status and subproblems", "[acme]") {
  const auto p = acme::parse_problem(R"({
    "type": "urn:ietf:params:acme:error:malformed",
    "detail": "Some of the identifiers requested were rejected",
    "status": 400,
    "subproblems": [
      {"type": "urn:ietf:params:acme:error:malformed", "detail": "Invalid underscore in DNS name \"_example.org\"",
       "identifier": {"type": "dns", "value": "_example.org"}},
      {"type": "urn:ietf:params:acme:error:rejectedIdentifier", "detail": "This CA will not issue for \"example.net\"",
       "identifier": {"type": "dns", "value": "example.net"}},
      "not an object",
      {"type": "urn:ietf:params:acme:error:caa"}
    ]})");
  REQUIRE(p);
  CHECK(p->type == "urn:ietf:params:acme:error:malformed");
  CHECK(p->short_type() == "malformed");
  CHECK(p->detail == "Some of the identifiers requested were rejected");
  CHECK(p->status == 400);
  REQUIRE(p->subproblems.size() == 3);
  CHECK(p->subproblems[0].identifier == "dns:_example.org");
  CHECK(p->subproblems[1].type == "urn:ietf:params:acme:error:rejectedIdentifier");
  CHECK(p->subproblems[1].detail == "This CA will not issue for \"example.net\"");
  CHECK(p->subproblems[2].identifier.empty());
  CHECK(p->subproblems[2].detail.empty());
}

TEST_CASE("parse_problem: non-problem bodies give nullopt", "[acme]") {
  CHECK_FALSE(acme::parse_problem(""));
  CHECK_FALSE(acme::parse_problem("<html>502 Bad Gateway</html>"));
  CHECK_FALSE(acme::parse_problem("[]"));
  CHECK_FALSE(acme::parse_problem("{}"));
  CHECK_FALSE(acme::parse_problem(R"({"detail": "no type"})"));
  CHECK_FALSE(acme::parse_problem(R"({"type": 5, "detail": "type is not a string"})"));
  CHECK_FALSE(acme::parse_problem(R"({"type": "urn:ietf:params:acme:error:malformed")"));  // truncated
  // A minimal problem: type only; a non-integer status is ignored.
  const auto p = acme::parse_problem(R"({"type": "about:blank", "status": "400"})");
  REQUIRE(p);
  CHECK(p->short_type() == "about:blank");
  CHECK(p->status == 0);
  CHECK(p->detail.empty());
}

TEST_CASE("problem_error maps ACME types to Errc", "[acme]") {
  CHECK(error_for("badNonce").code == Errc::bad_nonce);
  CHECK(error_for("rateLimited").code == Errc::rate_limited);
  CHECK(error_for("unauthorized").code == Errc::unauthorized);
  CHECK(error_for("caa").code == Errc::unauthorized);
  CHECK(error_for("dns").code == Errc::unauthorized);
  CHECK(error_for("incorrectResponse").code == Errc::unauthorized);
  CHECK(error_for("connection").code == Errc::unauthorized);
  CHECK(error_for("accountDoesNotExist").code == Errc::not_found);
  CHECK(error_for("rejectedIdentifier").code == Errc::acme_problem);
  CHECK(error_for("malformed").code == Errc::acme_problem);
  CHECK(error_for("badCSR").code == Errc::acme_problem);
  CHECK(error_for("externalAccountRequired").code == Errc::invalid_input);
  CHECK(error_for("serverInternal").code == Errc::acme_problem);
  CHECK(error_for("orderNotReady").code == Errc::acme_problem);
  // A type outside the ACME namespace is kept whole.
  acme::Problem other;
  other.type = "https://ca.test/errors/custom";
  const auto e = acme::problem_error(other, std::nullopt);
  CHECK(e.code == Errc::acme_problem);
  CHECK(e.message == "the CA answered https://ca.test/errors/custom");
  CHECK(e.acme_type == "https://ca.test/errors/custom");
}

TEST_CASE("problem_error keeps the type, detail and Retry-After", "[acme]") {
  const auto e = error_for("rateLimited", std::chrono::seconds(3600));
  CHECK(e.code == Errc::rate_limited);
  CHECK(e.message == "the CA answered rateLimited: detail of rateLimited");
  CHECK(e.acme_type == "urn:ietf:params:acme:error:rateLimited");
  REQUIRE(e.retry_after);
  CHECK(e.retry_after->count() == 3600);
  CHECK(e.details.empty());
  CHECK_FALSE(error_for("badNonce").retry_after);
}

TEST_CASE("problem_error turns subproblems into detail lines", "[acme]") {
  const auto p = acme::parse_problem(R"({
    "type": "urn:ietf:params:acme:error:rejectedIdentifier",
    "detail": "Error creating new order :: Cannot issue for 2 names",
    "subproblems": [
      {"type": "urn:ietf:params:acme:error:rejectedIdentifier", "detail": "Domain name is blocked",
       "identifier": {"type": "dns", "value": "example.test"}},
      {"type": "urn:ietf:params:acme:error:caa", "detail": "CAA record forbids\nissuance",
       "identifier": {"type": "dns", "value": "other.test"}},
      {"type": "https://ca.test/custom"}
    ]})");
  REQUIRE(p);
  const auto e = acme::problem_error(*p, std::nullopt);
  CHECK(e.code == Errc::acme_problem);
  CHECK(e.message == "the CA answered rejectedIdentifier: Error creating new order :: Cannot issue for 2 names");
  REQUIRE(e.details.size() == 3);
  CHECK(e.details[0] == "dns:example.test: rejectedIdentifier: Domain name is blocked");
  CHECK(e.details[1] == "dns:other.test: caa: CAA record forbids issuance");  // control characters flattened
  CHECK(e.details[2] == "https://ca.test/custom");
  CHECK_THAT(e.describe(), Catch::Contains("; dns:example.test: rejectedIdentifier: Domain name is blocked"));
}

TEST_CASE("http_status_error: without a problem document", "[acme]") {
  const auto bad_gateway = acme::http_status_error(502, "<html>\n<body>Bad Gateway</body>\n</html>");
  CHECK(bad_gateway.code == Errc::network);
  CHECK(bad_gateway.message ==
        "the CA answered HTTP 502 without a problem document: <html> <body>Bad Gateway</body> </html>");
  const auto not_found = acme::http_status_error(404, "");
  CHECK(not_found.code == Errc::acme_problem);
  CHECK(not_found.message == "the CA answered HTTP 404 without a problem document");
}

TEST_CASE("a problem document with fields of the wrong type is parsed, never thrown on", "[acme]") {
  const auto p = certpilot::acme::parse_problem(
      R"({"type":"urn:ietf:params:acme:error:rejectedIdentifier","detail":7,
          "subproblems":[{"identifier":{"type":5,"value":["x"]},"type":{},"detail":null}, 3]})");
  REQUIRE(p.has_value());
  CHECK(p->detail.empty());
  REQUIRE(p->subproblems.size() == 1);
  CHECK(p->subproblems[0].identifier == ":");
}
