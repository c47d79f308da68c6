// The rfc2136 provider against a real BIND: TSIG-signed updates, every algorithm, error cases.
#include <catch2/catch.hpp>

#include <cstdlib>

#include "agent/secret_reader.hpp"
#include "dns/resolver_lookup.hpp"
#include "dns/rfc2136/rfc2136_provider.hpp"
#include "support/text.hpp"
#include "support/dns_env.hpp"
#include "support/temp_dir.hpp"

using namespace certpilot;
using certpilot::util::Errc;

namespace {

dns::Rfc2136Config config_for(const std::string& algorithm) {
  auto& env = test::dns_test_env();
  const auto& key = env.bind->key(algorithm);
  dns::Rfc2136Config c;
  c.server = env.bind->server();
  c.key_name = key.name;
  c.algorithm = key.algorithm;
  c.secret = util::SecretString(key.secret);
  c.timeout = std::chrono::seconds(5);
  return c;
}

std::string served(const std::string& name) {
  auto& env = test::dns_test_env();
  return test::dig_short(env.bind->address(), env.port, name, "TXT");
}

}  // namespace

TEST_CASE("rfc2136: present and cleanup with every TSIG algorithm, keeping other values", "[integration][dns]") {
  for (const std::string alg : {"hmac-sha256", "hmac-sha512", "hmac-sha1", "hmac-md5"}) {
    INFO(alg);
    auto p = dns::Rfc2136Provider::create(config_for(alg));
    REQUIRE(p);
    const dns::TxtRecord rec{"a.test", "_acme-challenge.keep.a.test", "value-" + alg, std::chrono::seconds(30)};
    REQUIRE((*p)->present(rec));
    REQUIRE((*p)->present(rec));  // twice: still one copy
    std::string now = served(rec.fqdn);
    CHECK(test::count_of(now, "\"value-" + alg + "\"") == 1);
    CHECK(test::count_of(now, "\"other-client-value\"") == 1);
    REQUIRE((*p)->cleanup(rec));
    now = served(rec.fqdn);
    CHECK(test::count_of(now, "value-" + alg) == 0);
    CHECK(test::count_of(now, "\"other-client-value\"") == 1);
    REQUIRE((*p)->cleanup(rec));  // cleaning up what is gone is fine
  }
}

TEST_CASE("rfc2136: without a server, the update goes to the zone's SOA MNAME; the zone is found", "[integration][dns]") {
  auto& env = test::dns_test_env();
  auto c = config_for("hmac-sha256");
  c.server.clear();
  c.port = env.port;
  c.resolvers = {env.resolver()};
  auto p = dns::Rfc2136Provider::create(std::move(c));
  REQUIRE(p);
  const dns::TxtRecord rec{"", "_acme-challenge.mname.a.test", "via-mname", std::chrono::seconds(30)};
  REQUIRE((*p)->present(rec));
  CHECK(served(rec.fqdn) == "\"via-mname\"\n");
  REQUIRE((*p)->cleanup(rec));
  CHECK(served(rec.fqdn).empty());
}

TEST_CASE("rfc2136: a wrong secret is BADSIG, naming the server, with nothing left behind", "[integration][dns]") {
  auto c = config_for("hmac-sha256");
  const std::string server = c.server;
  c.secret = util::SecretString("d3JvbmcgZHVtbXkgc2VjcmV0IHdyb25nIHNlY3JldCE=");
  auto p = dns::Rfc2136Provider::create(std::move(c));
  REQUIRE(p);
  const dns::TxtRecord rec{"a.test", "_acme-challenge.badsig.a.test", "nope", std::chrono::seconds(30)};
  auto r = (*p)->present(rec);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::dns);
  CHECK_THAT(r.error().message, Catch::Contains(server) && Catch::Contains("NOTAUTH") && Catch::Contains("BADSIG") &&
                                    Catch::Contains("key-hmac-sha256"));
  CHECK(r.error().message.find("d3Jvbmc") == std::string::npos);
  CHECK(served(rec.fqdn).empty());
}

TEST_CASE("rfc2136: server down and unknown zone are clear errors", "[integration][dns]") {
  auto down = config_for("hmac-sha256");
  const auto unused = test::free_dns_port({"127.0.0.1"});
  down.server = "127.0.0.1:" + std::to_string(unused);
  auto p = dns::Rfc2136Provider::create(std::move(down));
  REQUIRE(p);
  auto r = (*p)->present({"a.test", "_acme-challenge.down.a.test", "x", std::chrono::seconds(30)});
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::network);
  CHECK_THAT(r.error().message, Catch::Contains("127.0.0.1:" + std::to_string(unused)) && Catch::Contains("refused"));

  auto q = dns::Rfc2136Provider::create(config_for("hmac-sha256"));
  REQUIRE(q);
  auto nz = (*q)->present({"nosuch.test", "_acme-challenge.nosuch.test", "x", std::chrono::seconds(30)});
  REQUIRE_FALSE(nz);
  CHECK_THAT(nz.error().message, Catch::Contains("NOTAUTH") && Catch::Contains("nosuch.test"));

  auto outside = (*q)->present({"a.test", "_acme-challenge.b.test", "x", std::chrono::seconds(30)});
  REQUIRE_FALSE(outside);
  CHECK(outside.error().code == Errc::invalid_input);
}

TEST_CASE("rfc2136: a server given by host name is resolved, A first, then AAAA", "[integration][dns]") {
  auto& env = test::dns_test_env();
  const auto unused = test::free_dns_port({"127.0.0.1"});
  auto c = config_for("hmac-sha256");
  // A host name with a port, as the README shows; ns6 has only an AAAA record (::1), where nothing
  // answers on this port.
  c.server = "ns6.a.test:" + std::to_string(unused);
  c.resolvers = {env.resolver()};
  auto p = dns::Rfc2136Provider::create(std::move(c));
  REQUIRE(p);
  auto r = (*p)->present({"a.test", "_acme-challenge.v6.a.test", "x", std::chrono::seconds(30)});
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message, Catch::Contains("[::1]:" + std::to_string(unused)));

  auto none = config_for("hmac-sha256");
  none.server = "nothing.a.test";
  none.resolvers = {env.resolver()};
  auto q = dns::Rfc2136Provider::create(std::move(none));
  REQUIRE(q);
  auto n = (*q)->present({"a.test", "_acme-challenge.v6.a.test", "x", std::chrono::seconds(30)});
  REQUIRE_FALSE(n);
  CHECK_THAT(n.error().message, Catch::Contains("nothing.a.test") && Catch::Contains("no A or AAAA record"));
}

TEST_CASE("rfc2136: built from --dns-opt pairs with a BIND key file or an environment variable", "[integration][dns]") {
  auto& env = test::dns_test_env();
  const auto& key = env.bind->key("hmac-sha512");
  test::TempDir dir;
  test::write_file(dir / "key.conf", "key \"" + key.name + "\" {\n\talgorithm hmac-sha512;\n\tsecret \"" + key.secret + "\";\n};\n");
  auto p = dns::make_rfc2136_provider({{"server", env.bind->server()}, {"tsig-secret-file", (dir / "key.conf").string()}}, agent::read_secret);
  REQUIRE(p);
  const dns::TxtRecord rec{"a.test", "_acme-challenge.opts.a.test", "from-key-file", std::chrono::seconds(30)};
  REQUIRE((*p)->present(rec));
  CHECK(served(rec.fqdn) == "\"from-key-file\"\n");
  REQUIRE((*p)->cleanup(rec));

  ::setenv("CERTPILOT_TEST_TSIG", env.bind->key("hmac-sha256").secret.c_str(), 1);
  auto e = dns::make_rfc2136_provider({{"server", env.bind->server()},
                                       {"tsig-key-name", "key-hmac-sha256"},
                                       {"tsig-secret-env", "CERTPILOT_TEST_TSIG"}}, agent::read_secret);
  REQUIRE(e);
  REQUIRE((*e)->present(rec));
  REQUIRE((*e)->cleanup(rec));

  auto typo = dns::make_rfc2136_provider({{"tsig-secret-env", "CERTPILOT_TEST_TSIG"}, {"sever", "x"}}, agent::read_secret);
  REQUIRE_FALSE(typo);
  CHECK_THAT(typo.error().message, Catch::Contains("unknown option \"sever\""));
  auto both = dns::make_rfc2136_provider({{"tsig-key-name", "k"}}, agent::read_secret);
  REQUIRE_FALSE(both);
  CHECK_THAT(both.error().message, Catch::Contains("tsig-secret-file or tsig-secret-env"));
  auto missing = dns::make_rfc2136_provider({{"tsig-key-name", "k"}, {"tsig-secret-file", (dir / "nope").string()}}, agent::read_secret);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == Errc::io);
}

TEST_CASE("rfc2136: a wildcard and its base share one name: both values served, over TCP when large",
          "[integration][dns]") {
  auto& env = test::dns_test_env();
  auto p = dns::Rfc2136Provider::create(config_for("hmac-sha256"));
  REQUIRE(p);
  // 600-byte values: the UPDATE is over 512 bytes (sent over TCP), and so is the answer to the TXT
  // query (truncated over UDP, asked again over TCP by c-ares).
  const dns::TxtRecord base{"a.test", "_acme-challenge.both.a.test", std::string(600, 'b'), std::chrono::seconds(30)};
  const dns::TxtRecord wild{"a.test", "_acme-challenge.both.a.test", std::string(600, 'w'), std::chrono::seconds(30)};
  REQUIRE((*p)->present(base));
  REQUIRE((*p)->present(wild));

  dns::LookupOptions o;
  o.resolvers = {env.resolver()};
  o.timeout = std::chrono::seconds(20);
  o.interval = std::chrono::milliseconds(200);
  o.nameserver_port_override = env.port;
  auto lookup = dns::ResolverLookup::create(std::move(o));
  REQUIRE(lookup);
  CHECK((*lookup)->wait_until_served({{base.fqdn, "a.test", {base.value, wild.value}}}));

  REQUIRE((*p)->cleanup(base));
  REQUIRE((*p)->cleanup(wild));
  CHECK(served(base.fqdn).empty());
}
