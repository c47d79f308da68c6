#include <catch2/catch.hpp>

#include <cstdlib>

#include "agent/secret_reader.hpp"
#include "support/temp_dir.hpp"

using namespace certpilot;
using certpilot::util::Errc;
using Kind = dns::SecretRef::Kind;

TEST_CASE("secret reader: a file's content or a variable's value, trimmed", "[agent]") {
  test::TempDir dir;
  test::write_file(dir / "s", "  c2VjcmV0\n");
  CHECK(agent::read_secret({Kind::file, (dir / "s").string()}).value().reveal() == "c2VjcmV0");
  ::setenv("CERTPILOT_TEST_SECRET", " from-env\n", 1);
  CHECK(agent::read_secret({Kind::env, "CERTPILOT_TEST_SECRET"}).value().reveal() == "from-env");
}

TEST_CASE("secret reader: errors name the file or variable, never a value", "[agent]") {
  test::TempDir dir;
  auto missing = agent::read_secret({Kind::file, (dir / "nope").string()});
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == Errc::io);
  CHECK_THAT(missing.error().message, Catch::Contains((dir / "nope").string()));
  ::unsetenv("CERTPILOT_TEST_UNSET");
  auto unset = agent::read_secret({Kind::env, "CERTPILOT_TEST_UNSET"});
  REQUIRE_FALSE(unset);
  CHECK(unset.error().code == Errc::invalid_input);
  CHECK_THAT(unset.error().message, Catch::Contains("CERTPILOT_TEST_UNSET is not set"));
  auto folder = agent::read_secret({Kind::file, dir.path().string()});
  REQUIRE_FALSE(folder);
  CHECK(folder.error().code == Errc::io);
  CHECK(folder.error().message == dir.path().string() + " is a folder; give the file that holds the secret");
  // An empty file reads as empty; dns::load_secret turns that into "... is empty".
  test::write_file(dir / "empty", "\n");
  CHECK(agent::read_secret({Kind::file, (dir / "empty").string()}).value().reveal().empty());
}

TEST_CASE("secret reader: a variable name that is not one (a pasted secret) is refused unquoted", "[agent]") {
  const std::string pasted = "c2VjcmV0IHRoYXQgaXMgd3Jvbmc=";
  auto r = agent::read_secret({Kind::env, pasted});
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::invalid_input);
  CHECK(r.error().message.find(pasted) == std::string::npos);
  CHECK_THAT(r.error().message, Catch::Contains("must name an environment variable (letters, digits, _)"));
}
