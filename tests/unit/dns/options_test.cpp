#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns/caa.hpp"
#include "dns/propagation.hpp"
#include "dns/provider_options.hpp"
#include "dns/rfc2136/rfc2136_provider.hpp"
#include "dns/zone.hpp"
#include "support/temp_dir.hpp"

using namespace certpilot;
using certpilot::util::Errc;

TEST_CASE("provider options: keys, seconds, lists", "[dns]") {
  const dns::ProviderOptions opts{{"timeout", "30s"}, {"resolvers", "127.0.0.1:53, ,::1"}, {"bad", "x"}};
  auto keys = dns::check_option_keys("p", opts, {"timeout", "resolvers"});
  REQUIRE_FALSE(keys);
  CHECK_THAT(keys.error().message, Catch::Contains("unknown option \"bad\"") && Catch::Contains("timeout, resolvers"));
  CHECK(dns::seconds_option(opts, "timeout", std::chrono::seconds(1)).value() == std::chrono::seconds(30));
  CHECK(dns::seconds_option(opts, "absent", std::chrono::seconds(7)).value() == std::chrono::seconds(7));
  CHECK_FALSE(dns::seconds_option({{"t", "-1"}}, "t", std::chrono::seconds(1)));
  CHECK_FALSE(dns::seconds_option({{"t", "1m"}}, "t", std::chrono::seconds(1)));
  CHECK(dns::list_option(opts, "resolvers") == std::vector<std::string>{"127.0.0.1:53", "::1"});
}

TEST_CASE("secrets come from exactly one of a file or a variable, and never into messages", "[dns]") {
  test::TempDir dir;
  test::write_file(dir / "s", "  c2VjcmV0\n");
  test::write_file(dir / "empty", "\n");
  CHECK(dns::load_secret("p", {{"k-file", (dir / "s").string()}}, "k").value().reveal() == "c2VjcmV0");
  CHECK_FALSE(dns::load_secret("p", {}, "k"));
  ::setenv("CERTPILOT_TEST_SECRET", "from-env", 1);
  CHECK_FALSE(dns::load_secret("p", {{"k-file", (dir / "s").string()}, {"k-env", "CERTPILOT_TEST_SECRET"}}, "k"));
  CHECK(dns::load_secret("p", {{"k-env", "CERTPILOT_TEST_SECRET"}}, "k").value().reveal() == "from-env");
  auto empty = dns::load_secret("p", {{"k-file", (dir / "empty").string()}}, "k");
  REQUIRE_FALSE(empty);
  CHECK(empty.error().code == Errc::invalid_input);
  auto missing = dns::load_secret("p", {{"k-file", (dir / "nope").string()}}, "k");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == Errc::io);
}

TEST_CASE("BIND key clauses are recognized, other text is not", "[dns]") {
  // Set here too: CTest runs each case in its own process, without the other cases' setenv.
  ::setenv("CERTPILOT_TEST_SECRET", "c2VjcmV0", 1);
  auto k = dns::parse_bind_key("key \"my-key\" {\n\talgorithm hmac-sha512;\n\tsecret \"c2VjcmV0\";\n};\n");
  REQUIRE(k);
  CHECK(k->name == "my-key");
  CHECK(k->algorithm == "hmac-sha512");
  CHECK(k->secret.reveal() == "c2VjcmV0");
  CHECK_FALSE(dns::parse_bind_key("c2VjcmV0"));
  CHECK_FALSE(dns::parse_bind_key("key \"x\" { algorithm hmac-sha256; };"));
  auto bad = dns::make_rfc2136_provider({{"tsig-key-name", "k"}, {"tsig-secret-env", "CERTPILOT_TEST_SECRET"}, {"port", "99999"}});
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Catch::Contains("port"));
  auto alg = dns::make_rfc2136_provider({{"tsig-key-name", "k"}, {"tsig-secret-env", "CERTPILOT_TEST_SECRET"}, {"tsig-algorithm", "hmac-sha3"}});
  REQUIRE_FALSE(alg);
  CHECK_THAT(alg.error().message, Catch::Contains("hmac-sha3"));
}

TEST_CASE("small pure helpers: CAA issuer domains, propagation modes, parent names", "[dns]") {
  CHECK(dns::caa_issuer_domain("letsencrypt.org") == "letsencrypt.org");
  CHECK(dns::caa_issuer_domain(" CA.Test ; validationmethods=dns-01") == "ca.test");
  CHECK(dns::caa_issuer_domain(";").empty());
  CHECK(dns::caa_issuer_domain("").empty());
  CHECK(dns::parse_propagation_mode("Authoritative").value() == dns::PropagationMode::authoritative);
  CHECK(dns::parse_propagation_mode("off").value() == dns::PropagationMode::off);
  auto bad = dns::parse_propagation_mode("sometimes");
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Catch::Contains("authoritative, resolvers, off"));
  CHECK(dns::parent_name("www.a.test") == "a.test");
  CHECK(dns::parent_name("test").empty());
  CHECK(dns::parent_name("WWW.A.Test.") == "a.test");
}

TEST_CASE("propagation mode off waits the fixed delay on the injected clock and asks nobody", "[dns]") {
  util::FakeClock clock(util::SysTime{} + std::chrono::hours(1000));
  auto r = dns::Resolver::create({{"127.0.0.1:9"}, std::chrono::milliseconds(100), 1, false, false});
  REQUIRE(r);
  dns::PropagationOptions po;
  po.mode = dns::PropagationMode::off;
  po.off_delay = std::chrono::seconds(45);
  const auto before = clock.now();
  CHECK(dns::wait_for_propagation(**r, {{"_acme-challenge.a.test", "a.test", {"v"}}}, po, clock));
  CHECK(clock.now() - before == std::chrono::seconds(45));
  po.mode = dns::PropagationMode::resolvers;
  auto none = dns::wait_for_propagation(**r, {{"_acme-challenge.a.test", "a.test", {"v"}}}, po, clock);
  REQUIRE_FALSE(none);
  CHECK(none.error().code == Errc::invalid_input);
}

TEST_CASE("resolver: bad server strings and a silent server are clear errors", "[dns]") {
  auto bad = dns::Resolver::create({{"not-an-ip"}, std::chrono::milliseconds(100), 1, true, false});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == Errc::invalid_input);
  // A UDP socket that never answers.
  test::TempDir dir;
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
  const std::string server = "127.0.0.1:" + std::to_string(ntohs(sa.sin_port));
  auto r = dns::Resolver::create({{server}, std::chrono::milliseconds(200), 1, false, false});
  REQUIRE(r);
  auto q = (*r)->query("a.test", dns::wire::type::kSoa);
  ::close(fd);
  REQUIRE_FALSE(q);
  CHECK(q.error().code == Errc::timeout);
  CHECK_THAT(q.error().message, Catch::Contains("a.test SOA @" + server));
}
