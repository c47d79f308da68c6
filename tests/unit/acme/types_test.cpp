// acme/types: order, authorization and renewal-info resources, and what happens when they are malformed.
#include <catch2/catch.hpp>

#include "acme/types.hpp"

using namespace certpilot;
using nlohmann::json;
using util::Errc;

namespace {
json parse(const std::string& s) { return json::parse(s); }
const std::string kOrderUrl = "https://ca.test/order/42";
const std::string kAuthzUrl = "https://ca.test/authz/7";
const std::string kAriUrl = "https://ca.test/renewal-info/abc.def";
}  // namespace

TEST_CASE("parse_order reads every field RFC 8555 §7.1.3 and its extensions define", "[acme]") {
  auto o = acme::parse_order(kOrderUrl, parse(R"({
    "status": "valid",
    "expires": "2026-12-05T10:00:00Z",
    "identifiers": [{"type": "dns", "value": "example.test"}, {"type": "dns", "value": "*.example.test"}, "junk"],
    "authorizations": ["https://ca.test/authz/1", "https://ca.test/authz/2", 3],
    "finalize": "https://ca.test/order/42/finalize",
    "certificate": "https://ca.test/cert/99",
    "replaces": "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE",
    "profile": "shortlived"})"));
  REQUIRE(o);
  CHECK(o->url == kOrderUrl);
  CHECK(o->status == "valid");
  REQUIRE(o->identifiers.size() == 2);
  CHECK(o->identifiers[0].type == "dns");
  CHECK(o->identifiers[0].value == "example.test");
  CHECK(o->identifiers[1].value == "*.example.test");
  CHECK(o->authorizations == std::vector<std::string>{"https://ca.test/authz/1", "https://ca.test/authz/2"});
  CHECK(o->finalize == "https://ca.test/order/42/finalize");
  CHECK(o->certificate == std::optional<std::string>("https://ca.test/cert/99"));
  CHECK(o->replaces == std::optional<std::string>("aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"));
  CHECK(o->profile == std::optional<std::string>("shortlived"));
  CHECK_FALSE(o->error);
}

TEST_CASE("parse_order keeps the problem of an invalid order", "[acme]") {
  auto o = acme::parse_order(kOrderUrl, parse(R"({
    "status": "invalid", "finalize": "f", "identifiers": [], "authorizations": [],
    "error": {"type": "urn:ietf:params:acme:error:unauthorized", "detail": "authorization failed", "status": 403}})"));
  REQUIRE(o);
  CHECK(o->status == "invalid");
  REQUIRE(o->error);
  CHECK(o->error->short_type() == "unauthorized");
  CHECK(o->error->detail == "authorization failed");
  CHECK(o->error->status == 403);
  CHECK_FALSE(o->certificate);
  CHECK_FALSE(o->replaces);
  CHECK_FALSE(o->profile);
}

TEST_CASE("parse_order: malformed resources name the URL", "[acme]") {
  SECTION("not an object") {
    auto o = acme::parse_order(kOrderUrl, parse("[1, 2]"));
    REQUIRE_FALSE(o);
    CHECK(o.error().code == Errc::acme_problem);
    CHECK(o.error().message == "the CA sent a malformed resource at " + kOrderUrl + ": order is not a JSON object");
  }
  SECTION("no status") {
    auto o = acme::parse_order(kOrderUrl, parse(R"({"finalize": "f"})"));
    REQUIRE_FALSE(o);
    CHECK(o.error().code == Errc::acme_problem);
    CHECK_THAT(o.error().message, Catch::Contains(kOrderUrl) && Catch::EndsWith("order has no status"));
  }
  SECTION("status of the wrong type") {
    auto o = acme::parse_order(kOrderUrl, parse(R"({"status": 1})"));
    REQUIRE_FALSE(o);
    CHECK_THAT(o.error().message, Catch::EndsWith("order has no status"));
  }
  SECTION("an error member that is not a problem is ignored") {
    auto o = acme::parse_order(kOrderUrl, parse(R"({"status": "pending", "error": "oops"})"));
    REQUIRE(o);
    CHECK_FALSE(o->error);
  }
}

TEST_CASE("parse_authorization reads identifier, wildcard, expiry and challenges", "[acme]") {
  auto a = acme::parse_authorization(kAuthzUrl, parse(R"({
    "status": "pending",
    "expires": "2026-12-05T10:00:00Z",
    "identifier": {"type": "dns", "value": "example.test"},
    "wildcard": true,
    "challenges": [
      {"type": "http-01", "url": "https://ca.test/chall/1", "token": "tok-http", "status": "pending"},
      {"type": "dns-01", "url": "https://ca.test/chall/2", "token": "tok-dns", "status": "pending"},
      "junk"
    ]})"));
  REQUIRE(a);
  CHECK(a->url == kAuthzUrl);
  CHECK(a->status == "pending");
  CHECK(a->identifier.type == "dns");
  CHECK(a->identifier.value == "example.test");
  CHECK(a->wildcard);
  CHECK(a->display_name() == "*.example.test");
  REQUIRE(a->expires);
  CHECK(*a->expires == util::SysTime(std::chrono::seconds(1796464800)));  // 2026-12-05T10:00:00Z
  REQUIRE(a->challenges.size() == 2);
  const auto* dns = a->find_challenge("dns-01");
  REQUIRE(dns != nullptr);
  CHECK(dns->url == "https://ca.test/chall/2");
  CHECK(dns->token == "tok-dns");
  CHECK(dns->status == "pending");
  CHECK(a->find_challenge("tls-alpn-01") == nullptr);
}

TEST_CASE("parse_authorization keeps a failed challenge's problem", "[acme]") {
  auto a = acme::parse_authorization(kAuthzUrl, parse(R"({
    "status": "invalid",
    "identifier": {"type": "dns", "value": "www.example.test"},
    "challenges": [{"type": "dns-01", "url": "u", "token": "t", "status": "invalid",
      "error": {"type": "urn:ietf:params:acme:error:incorrectResponse", "detail": "No TXT record found at _acme-challenge.www.example.test"}}]})"));
  REQUIRE(a);
  CHECK_FALSE(a->wildcard);
  CHECK(a->display_name() == "www.example.test");
  CHECK_FALSE(a->expires);
  const auto* dns = a->find_challenge("dns-01");
  REQUIRE(dns != nullptr);
  REQUIRE(dns->error);
  CHECK(dns->error->short_type() == "incorrectResponse");
  CHECK_THAT(dns->error->detail, Catch::Contains("No TXT record"));
}

TEST_CASE("parse_authorization: malformed resources", "[acme]") {
  auto not_object = acme::parse_authorization(kAuthzUrl, parse("\"pending\""));
  REQUIRE_FALSE(not_object);
  CHECK(not_object.error().code == Errc::acme_problem);
  CHECK(not_object.error().message ==
        "the CA sent a malformed resource at " + kAuthzUrl + ": authorization is not a JSON object");

  auto no_status = acme::parse_authorization(kAuthzUrl, parse(R"({"identifier": {"type": "dns", "value": "a.test"}})"));
  REQUIRE_FALSE(no_status);
  CHECK(no_status.error().code == Errc::acme_problem);
  CHECK_THAT(no_status.error().message, Catch::EndsWith("authorization has no status"));

  auto no_identifier = acme::parse_authorization(kAuthzUrl, parse(R"({"status": "pending"})"));
  REQUIRE_FALSE(no_identifier);
  CHECK_THAT(no_identifier.error().message, Catch::EndsWith("authorization has no identifier"));

  auto bad_identifier = acme::parse_authorization(kAuthzUrl, parse(R"({"status": "pending", "identifier": "a.test"})"));
  REQUIRE_FALSE(bad_identifier);
  CHECK_THAT(bad_identifier.error().message, Catch::EndsWith("authorization has no identifier"));

  // An unparseable expiry is dropped rather than failing the whole authorization.
  auto bad_expiry = acme::parse_authorization(
      kAuthzUrl, parse(R"({"status": "valid", "identifier": {"type": "dns", "value": "a.test"}, "expires": "tomorrow"})"));
  REQUIRE(bad_expiry);
  CHECK_FALSE(bad_expiry->expires);
  CHECK(bad_expiry->challenges.empty());
}

TEST_CASE("parse_renewal_info reads the suggested window (RFC 9773 §4.2)", "[acme]") {
  auto info = acme::parse_renewal_info(kAriUrl, parse(R"({
    "suggestedWindow": {"start": "2026-11-28T10:46:39Z", "end": "2026-11-29T10:46:39Z"},
    "explanationURL": "https://ca.test/docs/ari"})"));
  REQUIRE(info);
  CHECK(info->window_start == util::SysTime(std::chrono::seconds(1795862799)));
  CHECK(info->window_end == util::SysTime(std::chrono::seconds(1795862799 + 86400)));
  CHECK(info->explanation_url == std::optional<std::string>("https://ca.test/docs/ari"));
  CHECK_FALSE(info->retry_after);  // comes from the Retry-After header, not the body

  auto plain = acme::parse_renewal_info(
      kAriUrl, parse(R"({"suggestedWindow": {"start": "2026-11-28T10:46:39Z", "end": "2026-11-28T10:46:40Z"}})"));
  REQUIRE(plain);
  CHECK_FALSE(plain->explanation_url);
}

TEST_CASE("parse_renewal_info: malformed windows", "[acme]") {
  const auto fails_with = [](const std::string& body, const std::string& what) {
    auto info = acme::parse_renewal_info(kAriUrl, parse(body));
    REQUIRE_FALSE(info);
    CHECK(info.error().code == Errc::acme_problem);
    CHECK(info.error().message == "the CA sent a malformed resource at " + kAriUrl + ": " + what);
  };
  fails_with("[]", "renewal info has no suggestedWindow");
  fails_with("{}", "renewal info has no suggestedWindow");
  fails_with(R"({"suggestedWindow": "2026-11-28"})", "renewal info has no suggestedWindow");
  fails_with(R"({"suggestedWindow": {"start": "2026-11-28T10:46:39Z"}})",
             "suggestedWindow start/end are not RFC 3339 timestamps");
  fails_with(R"({"suggestedWindow": {"start": "yesterday", "end": "2026-11-28T10:46:39Z"}})",
             "suggestedWindow start/end are not RFC 3339 timestamps");
  fails_with(R"({"suggestedWindow": {"start": 1, "end": 2}})", "suggestedWindow start/end are not RFC 3339 timestamps");
  fails_with(R"({"suggestedWindow": {"start": "2026-11-29T10:46:39Z", "end": "2026-11-28T10:46:39Z"}})",
             "suggestedWindow does not end after it starts");
  // RFC 9773 §4.2: a zero-length window is invalid too.
  fails_with(R"({"suggestedWindow": {"start": "2026-11-28T10:46:39Z", "end": "2026-11-28T10:46:39Z"}})",
             "suggestedWindow does not end after it starts");
}
