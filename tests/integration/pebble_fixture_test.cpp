// The Pebble fixture itself: every other integration test relies on what is checked here.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "support/pebble_fixture.hpp"
#include "support/process.hpp"

using certpilot::test::PebbleFixture;
using certpilot::test::PebbleOptions;
using certpilot::test::process_running;

namespace {

nlohmann::json directory(const PebbleFixture& pebble) { return nlohmann::json::parse(pebble.https_get(pebble.directory_url())); }

}  // namespace

TEST_CASE("pebble fixture serves ACME, management and challtestsrv DNS on loopback", "[integration][pebble]") {
  auto pebble = PebbleFixture::start();

  const auto dir = directory(*pebble);
  for (const char* key : {"newNonce", "newAccount", "newOrder", "revokeCert", "keyChange"}) {
    INFO(key);
    REQUIRE(dir.contains(key));
    CHECK(dir[key].get<std::string>().rfind("https://127.0.0.1:", 0) == 0);
  }
  CHECK(dir["meta"]["externalAccountRequired"] == false);

  CHECK(pebble->root_pem(0).rfind("-----BEGIN CERTIFICATE-----", 0) == 0);
  CHECK(pebble->intermediate_pem(0).rfind("-----BEGIN CERTIFICATE-----", 0) == 0);
  CHECK(pebble->challtestsrv_url().rfind("http://127.0.0.1:", 0) == 0);
  CHECK(pebble->challtestsrv_dns().rfind("127.0.0.1:", 0) == 0);
  CHECK(std::filesystem::exists(pebble->ca_bundle_path()));

  const std::string host = "_acme-challenge.example.test.";
  CHECK(pebble->txt_values(host).empty());
  pebble->http_post("/set-txt", R"({"host":"_acme-challenge.example.test.","value":"first-value"})");
  CHECK(pebble->txt_values(host) == std::vector<std::string>{"first-value"});
  pebble->set_txt("_acme-challenge.example.test", "second-value");  // the helper adds the dot
  CHECK(pebble->txt_values("_acme-challenge.example.test") == std::vector<std::string>{"first-value", "second-value"});

  pebble->clear_txt(host);
  CHECK(pebble->txt_values(host).empty());

  const int pebble_pid = pebble->pebble_pid();
  const int chall_pid = pebble->challtestsrv_pid();
  REQUIRE(process_running(pebble_pid));
  REQUIRE(process_running(chall_pid));
  const std::string state = pebble->state_dir();
  pebble->stop();
  CHECK_FALSE(process_running(pebble_pid));
  CHECK_FALSE(process_running(chall_pid));
  CHECK(std::filesystem::exists(state));  // stop() keeps the logs; the destructor cleans up
  pebble.reset();
  CHECK_FALSE(std::filesystem::exists(state));
}

TEST_CASE("pebble fixture with EAB requires external account binding", "[integration][pebble]") {
  PebbleOptions options;
  options.eab = true;
  options.challtestsrv = false;
  options.env = {{"PEBBLE_WFE_NONCEREJECT", "0"}};
  auto pebble = PebbleFixture::start(options);

  CHECK(directory(*pebble)["meta"]["externalAccountRequired"] == true);
  CHECK(pebble->challtestsrv_url().empty());
  CHECK(pebble->challtestsrv_pid() == 0);
  CHECK(pebble->env_value("PEBBLE_EAB_KID") == PebbleFixture::kEabKid);
  CHECK(pebble->env_value("PEBBLE_EAB_HMAC_KEY") == PebbleFixture::kEabHmacKey);

  const int pid = pebble->pebble_pid();
  REQUIRE(process_running(pid));
  pebble.reset();  // the destructor alone must stop the server
  CHECK_FALSE(process_running(pid));
}

TEST_CASE("pebble fixture reports a start failure with the script's error", "[integration][pebble]") {
  PebbleOptions options;
  options.env = {{"not a valid key", "x"}};
  CHECK_THROWS_WITH(PebbleFixture::start(options), Catch::Contains("--env needs KEY=VALUE"));
}
