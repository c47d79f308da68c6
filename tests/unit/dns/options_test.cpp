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
#include "fake_secrets.hpp"
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
  const auto read = test::fake_secrets({{"/s", "c2VjcmV0"}, {"VAR", "from-env"}, {"/empty", ""}});
  CHECK(dns::load_secret("p", {{"k-file", "/s"}}, "k", read).value().reveal() == "c2VjcmV0");
  CHECK(dns::load_secret("p", {{"k-env", "VAR"}}, "k", read).value().reveal() == "from-env");
  auto none = dns::load_secret("p", {}, "k", read);
  REQUIRE_FALSE(none);
  CHECK_THAT(none.error().message, Catch::Contains("give exactly one of k-file or k-env"));
  CHECK_FALSE(dns::load_secret("p", {{"k-file", "/s"}, {"k-env", "VAR"}}, "k", read));
  auto empty = dns::load_secret("p", {{"k-file", "/empty"}}, "k", read);
  REQUIRE_FALSE(empty);
  CHECK(empty.error().code == Errc::invalid_input);
  CHECK_THAT(empty.error().message, Catch::Contains("k-file /empty is empty"));
  auto missing = dns::load_secret("p", {{"k-file", "/nope"}}, "k", read);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == Errc::io);
  CHECK_THAT(missing.error().message, Catch::Contains("p: k-file") && Catch::Contains("/nope"));
  // A secret pasted into a -env option is refused without being quoted, and never looked up.
  int lookups = 0;
  const auto counting = [&](const dns::SecretRef& ref) -> util::Result<util::SecretString> {
    ++lookups;
    return read(ref);
  };
  for (const char* pasted : {"c2VjcmV0IHRoYXQgaXMgd3Jvbmc=", "1VAR", "MY-VAR", "VAR NAME", "s3cr3t/+"}) {
    auto r = dns::load_secret("rfc2136", {{"tsig-secret-env", pasted}}, "tsig-secret", counting);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::invalid_input);
    CHECK(r.error().message ==
          "rfc2136: tsig-secret-env must name an environment variable (letters, digits, _), not hold the secret itself");
    CHECK(r.error().describe().find(pasted) == std::string::npos);
  }
  CHECK(lookups == 0);
  CHECK(dns::is_env_var_name("CERTPILOT_TSIG"));
  CHECK(dns::is_env_var_name("_x9"));
  CHECK_FALSE(dns::is_env_var_name(""));
  CHECK_FALSE(dns::is_env_var_name("9x"));
  CHECK_FALSE(dns::is_env_var_name("A=B"));
  // The value never shows up in an error, even when the reader fails after reading it.
  const auto failing = [](const dns::SecretRef&) -> util::Result<util::SecretString> {
    return util::fail(util::Errc::io, "cannot read the file");
  };
  auto err = dns::load_secret("p", {{"k-file", "/s"}}, "k", failing);
  REQUIRE_FALSE(err);
  CHECK(err.error().message.find("c2VjcmV0") == std::string::npos);
}

TEST_CASE("BIND key clauses are recognized, other text is not", "[dns]") {
  const auto read = test::fake_secrets({{"VAR", "c2VjcmV0"}});
  auto k = dns::parse_bind_key("key \"my-key\" {\n\talgorithm hmac-sha512;\n\tsecret \"c2VjcmV0\";\n};\n");
  REQUIRE(k);
  CHECK(k->name == "my-key");
  CHECK(k->algorithm == "hmac-sha512");
  CHECK(k->secret.reveal() == "c2VjcmV0");
  CHECK_FALSE(dns::parse_bind_key("c2VjcmV0"));
  CHECK_FALSE(dns::parse_bind_key("key \"x\" { algorithm hmac-sha256; };"));
  auto bad = dns::make_rfc2136_provider({{"tsig-key-name", "k"}, {"tsig-secret-env", "VAR"}, {"port", "99999"}}, read);
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Catch::Contains("port"));
  for (const char* server : {"[::1", "[::1]x", ":53", "ns1 example.test"}) {
    auto s = dns::make_rfc2136_provider({{"tsig-key-name", "k"}, {"tsig-secret-env", "VAR"}, {"server", server}}, read);
    REQUIRE_FALSE(s);
    CHECK(s.error().code == Errc::invalid_input);
    CHECK_THAT(s.error().message, Catch::Contains(std::string("server=\"") + server) && Catch::Contains("HOST:PORT"));
  }
  for (const char* server : {"ns1.example.test:", "ns1.example.test:99999", "127.0.0.1:0", "127.0.0.1:dns"}) {
    auto s = dns::make_rfc2136_provider({{"tsig-key-name", "k"}, {"tsig-secret-env", "VAR"}, {"server", server}}, read);
    REQUIRE_FALSE(s);
    CHECK(s.error().code == Errc::invalid_input);
    CHECK_THAT(s.error().message, Catch::StartsWith(std::string("rfc2136: server=\"") + server + "\": ") &&
                                      Catch::EndsWith("(1-65535)"));
  }
  auto wrapped = dns::make_rfc2136_provider({{"tsig-key-name", "k"}, {"tsig-secret-env", "VAR"}, {"server", "127.0.0.1:99999"}}, read);
  REQUIRE_FALSE(wrapped);
  CHECK(wrapped.error().message == "rfc2136: server=\"127.0.0.1:99999\": bad port 99999 (1-65535)");
  for (const char* server : {"ns1.example.test:5353", "ns1.example.test", "[::1]:53", "::1", "127.0.0.1:53"}) {
    CHECK(dns::make_rfc2136_provider({{"tsig-key-name", "k"}, {"tsig-secret-env", "VAR"}, {"server", server}}, read));
  }
  auto alg = dns::make_rfc2136_provider({{"tsig-key-name", "k"}, {"tsig-secret-env", "VAR"}, {"tsig-algorithm", "hmac-sha3"}}, read);
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
  // Unreachable, like a refused connection: exit 4, not the "waited too long for an outcome" of 1.
  CHECK(q.error().code == Errc::network);
  CHECK_THAT(q.error().message, Catch::Contains("a.test SOA @" + server) && Catch::Contains("no answer (timed out after 1 tries)"));
}
