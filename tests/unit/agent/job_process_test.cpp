// agent/job_process: the one-line answer a `certpilot renew-job` child gives the daemon.
#include <catch2/catch.hpp>

#include "agent/job_process.hpp"
#include "util/time.hpp"

using namespace certpilot;
using agent::RenewResult;
using agent::RenewStatus;

TEST_CASE("renewal job answers round-trip through one JSON line", "[agent][job]") {
  const auto at = *util::parse_rfc3339("2027-01-02T03:04:05Z");
  for (const auto status : {RenewStatus::issued, RenewStatus::not_due, RenewStatus::busy, RenewStatus::failed}) {
    RenewResult r{"web", status, at, "a message with \"quotes\"\nand a newline", std::nullopt, "0abc"};
    if (status == RenewStatus::failed) r.error = util::Error(util::Errc::rate_limited, "slow down");
    const std::string line = agent::renew_result_to_json(r);
    CHECK(line.find('\n') == std::string::npos);
    auto back = agent::renew_result_from_json(line);
    REQUIRE(back);
    CHECK(back->name == "web");
    CHECK(back->status == status);
    CHECK(back->next_check == at);
    CHECK(back->message == r.message);
    CHECK(back->serial == "0abc");
    CHECK(back->error.has_value() == (status == RenewStatus::failed));
    if (back->error) CHECK(back->error->code == util::Errc::rate_limited);
  }
}

TEST_CASE("renewal job answers that are not ours are refused", "[agent][job]") {
  CHECK_FALSE(agent::renew_result_from_json(""));
  CHECK_FALSE(agent::renew_result_from_json("certificate saved"));
  CHECK_FALSE(agent::renew_result_from_json(R"({"name":"web","status":"maybe","next_check":"2027-01-02T03:04:05Z"})"));
  CHECK_FALSE(agent::renew_result_from_json(R"({"name":"web","status":"issued"})"));
}

TEST_CASE("a renewal job for a certificate the config does not name fails cleanly", "[agent][job]") {
  const auto r = agent::run_renew_job("[ca]\n", "/etc/certpilot/config.toml", "web");
  CHECK(r.status == RenewStatus::failed);
  CHECK(r.name == "web");
  REQUIRE(r.error);
  CHECK_THAT(r.message, Catch::Contains("config /etc/certpilot/config.toml"));
}
