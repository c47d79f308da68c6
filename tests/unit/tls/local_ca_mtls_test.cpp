#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "fixtures.hpp"
#include "support/temp_dir.hpp"
#include "tls/local_ca.hpp"
#include "tls_client.hpp"

using namespace certpilot;
using namespace certpilot::tls;
using namespace certpilot::tls::test;

namespace {
const auto kNow = [] { return std::chrono::system_clock::now(); };

unsigned mode_of(const std::filesystem::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 0777;
}
}  // namespace

TEST_CASE("the local CA is created once, private, and its leaves verify against it", "[tls][localca]") {
  certpilot::test::TempDir tmp;
  const auto dir = tmp.path() / "state" / "local-ca";
  bool created = false;
  auto ca = LocalCa::open_or_create(dir, kNow(), &created);
  REQUIRE(ca.has_value());
  CHECK(created);
  CHECK(mode_of(dir) == 0700);
  CHECK(mode_of(dir / "ca-key.pem") == 0600);
  auto again = LocalCa::open_or_create(dir, kNow(), &created);
  REQUIRE(again.has_value());
  CHECK_FALSE(created);
  CHECK(again->cert_pem() == ca->cert_pem());

  auto leaf = again->issue({"app.localhost", "127.0.0.1"}, kNow());
  REQUIRE(leaf.has_value());
  Server server;
  server.put("dev", *leaf);
  ClientOptions o;
  o.sni = "app.localhost";
  o.ca_pem = ca->cert_pem();  // verification on: the chain must lead to the local CA
  TlsConn c(server.port(), o);
  INFO(c.error());
  REQUIRE(c.ok());
  CHECK(SSL_get_verify_result(c.ssl()) == X509_V_OK);
  CHECK(page_field(c.get(), "names") == "app.localhost");

  REQUIRE(LocalCa::open_or_create(tmp.path() / "state" / "local-ca", kNow(), &created));
  std::filesystem::remove(dir / "ca-key.pem");
  auto broken = LocalCa::open_or_create(dir, kNow(), &created);
  REQUIRE_FALSE(broken.has_value());
  CHECK_THAT(broken.error().message, Catch::Contains("ca-key.pem: cannot read"));
}

TEST_CASE("the local CA's new folders are 0700 under umask 000, existing folders keep their mode", "[tls][localca]") {
  certpilot::test::TempDir tmp;
  std::filesystem::create_directory(tmp.path() / "existing");
  REQUIRE(::chmod((tmp.path() / "existing").c_str(), 0755) == 0);
  const auto dir = tmp.path() / "existing" / "state" / "local-ca";
  const mode_t saved = ::umask(0);
  bool created = false;
  auto ca = LocalCa::open_or_create(dir, kNow(), &created);
  ::umask(saved);
  REQUIRE(ca.has_value());
  CHECK(created);
  CHECK(mode_of(tmp.path() / "existing") == 0755);  // not ours to change
  CHECK(mode_of(tmp.path() / "existing" / "state") == 0700);
  CHECK(mode_of(dir) == 0700);
  CHECK(mode_of(dir / "ca-key.pem") == 0600);

  // A state folder the operator made (and opened up) is used as it is, not chmod'ed.
  std::filesystem::create_directory(tmp.path() / "mine");
  REQUIRE(::chmod((tmp.path() / "mine").c_str(), 0750) == 0);
  REQUIRE(LocalCa::open_or_create(tmp.path() / "mine", kNow(), &created).has_value());
  CHECK(created);
  CHECK(mode_of(tmp.path() / "mine") == 0750);
  CHECK(mode_of(tmp.path() / "mine" / "ca-key.pem") == 0600);

  // A file where a folder should be: an error naming it.
  certpilot::test::write_file(tmp.path() / "file", "x");
  auto blocked = LocalCa::open_or_create(tmp.path() / "file" / "local-ca", kNow(), &created);
  REQUIRE_FALSE(blocked.has_value());
  CHECK(blocked.error().code == util::Errc::io);
  CHECK_THAT(blocked.error().message, Catch::Contains((tmp.path() / "file").string()));
}

TEST_CASE("mTLS: required refuses a client without a certificate, accepts one with", "[tls][mtls]") {
  certpilot::test::TempDir tmp;
  bool created = false;
  auto ca = LocalCa::open_or_create(tmp.path() / "ca", kNow(), &created);
  REQUIRE(ca.has_value());
  auto client_cert = ca->issue({"client.test"}, kNow());
  REQUIRE(client_cert.has_value());
  certpilot::test::TempDir other_tmp;
  auto stranger = LocalCa::open_or_create(other_tmp.path() / "ca", kNow(), &created);
  REQUIRE(stranger.has_value());
  auto stranger_cert = stranger->issue({"client.test"}, kNow());
  REQUIRE(stranger_cert.has_value());

  Pki pki;
  for (ClientAuth mode : {ClientAuth::required, ClientAuth::optional}) {
    TlsSettings settings;
    settings.client_auth = mode;
    settings.client_ca_pem = ca->cert_pem();
    Server server({}, settings);
    server.put("a", pki.issue({"a.test"}));
    ClientOptions o;
    o.sni = "a.test";
    {
      TlsConn anonymous(server.port(), o);
      const bool served = anonymous.ok() && !anonymous.get().empty();  // TLS 1.3: refused after Finished
      CHECK(served == (mode == ClientAuth::optional));
    }
    o.cert_pem = client_cert->chain_pem;
    o.key_pem = client_cert->key_pem;
    {
      TlsConn with_cert(server.port(), o);
      REQUIRE(with_cert.ok());
      CHECK(page_field(with_cert.get(), "client certificate") == "CN=client.test");
    }
    o.cert_pem = stranger_cert->chain_pem;
    o.key_pem = stranger_cert->key_pem;
    {
      TlsConn wrong_ca(server.port(), o);
      CHECK_FALSE((wrong_ca.ok() && !wrong_ca.get().empty()));
    }
  }
}

TEST_CASE("an unreadable client CA bundle is an error naming it", "[tls][mtls]") {
  TlsSettings settings;
  settings.client_auth = ClientAuth::required;
  settings.client_ca_pem = "not a certificate";
  settings.client_ca_source = "/etc/clients.pem";
  CertPublisher publisher;
  ListenerOptions lo;
  lo.listen = {"127.0.0.1:0"};
  auto l = Listener::create(lo, settings, publisher);
  REQUIRE_FALSE(l.has_value());
  CHECK(l.error().message == "listener: client certificates: /etc/clients.pem: no CERTIFICATE block found");
}
