// util/error: the one error type; wrapped() adds context, describe() adds the details.
#include <catch2/catch.hpp>

#include "util/result.hpp"

using namespace certpilot::util;

namespace {
Error sample() {
  Error e(Errc::rate_limited, "too many certificates");
  e.acme_type = "urn:ietf:params:acme:error:rateLimited";
  e.retry_after = std::chrono::seconds(3600);
  e.details = {"dns:a.test: rateLimited", "dns:b.test: rateLimited"};
  return e;
}

Result<int> parse_positive(int v) {
  if (v <= 0) return fail(Errc::invalid_input, "value " + std::to_string(v) + " is not positive");
  return v;
}

Result<int> doubled(int v) {
  CERTPILOT_TRY(int x, parse_positive(v), "doubling");
  return 2 * x;
}

Result<void> check(int v) {
  CERTPILOT_TRY_VOID(parse_positive(v).transform([](int) {}), "checking");
  return ok();
}
}  // namespace

TEST_CASE("wrapped prepends context and keeps everything else", "[util][error]") {
  const Error e = sample();
  const Error w = e.wrapped("POST https://ca.test/new-order");
  CHECK(w.message == "POST https://ca.test/new-order: too many certificates");
  CHECK(w.code == Errc::rate_limited);
  CHECK(w.acme_type == "urn:ietf:params:acme:error:rateLimited");
  REQUIRE(w.retry_after);
  CHECK(w.retry_after->count() == 3600);
  CHECK(w.details == e.details);
  // The const& overload leaves the original alone.
  CHECK(e.message == "too many certificates");

  // The && overload, chained: the outermost context comes first.
  Error moved = sample().wrapped("order").wrapped("issue a.test");
  CHECK(moved.message == "issue a.test: order: too many certificates");
  CHECK(moved.code == Errc::rate_limited);
}

TEST_CASE("describe appends details separated by a semicolon", "[util][error]") {
  CHECK(sample().describe() == "too many certificates; dns:a.test: rateLimited; dns:b.test: rateLimited");
  const Error plain(Errc::io, "cannot read /etc/x");
  CHECK(plain.describe() == "cannot read /etc/x");
  CHECK(Error().code == Errc::internal);
}

TEST_CASE("to_string names every Errc", "[util][error]") {
  CHECK(to_string(Errc::invalid_input) == "invalid_input");
  CHECK(to_string(Errc::not_found) == "not_found");
  CHECK(to_string(Errc::io) == "io");
  CHECK(to_string(Errc::network) == "network");
  CHECK(to_string(Errc::tls) == "tls");
  CHECK(to_string(Errc::dns) == "dns");
  CHECK(to_string(Errc::timeout) == "timeout");
  CHECK(to_string(Errc::acme_problem) == "acme_problem");
  CHECK(to_string(Errc::bad_nonce) == "bad_nonce");
  CHECK(to_string(Errc::rate_limited) == "rate_limited");
  CHECK(to_string(Errc::unauthorized) == "unauthorized");
  CHECK(to_string(Errc::conflict) == "conflict");
  CHECK(to_string(Errc::cancelled) == "cancelled");
  CHECK(to_string(Errc::internal) == "internal");
}

TEST_CASE("CERTPILOT_TRY and CERTPILOT_TRY_VOID propagate wrapped errors", "[util][error]") {
  const auto good = doubled(21);
  REQUIRE(good);
  CHECK(*good == 42);
  const auto bad = doubled(-1);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == Errc::invalid_input);
  CHECK(bad.error().message == "doubling: value -1 is not positive");
  CHECK(check(1));
  const auto bad_void = check(0);
  REQUIRE_FALSE(bad_void);
  CHECK(bad_void.error().message == "checking: value 0 is not positive");
}
