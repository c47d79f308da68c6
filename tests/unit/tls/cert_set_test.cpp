#include <catch2/catch.hpp>

#include "fixtures.hpp"
#include "tls/cert_set.hpp"

using namespace certpilot;
using namespace certpilot::tls;
using certpilot::tls::test::Pki;

namespace {

const auto kNow = [] { return std::chrono::system_clock::now(); };

CertEntryPtr entry(const CertMaterial& m) {
  auto e = CertEntry::create(m, kNow());
  INFO((e ? std::string() : e.error().message));
  REQUIRE(e.has_value());
  return *e;
}

std::string error_of(const CertMaterial& m) {
  auto e = CertEntry::create(m, kNow());
  REQUIRE_FALSE(e.has_value());
  return e.error().message;
}

X509* leaf_of(SSL_CTX* ctx) { return ctx == nullptr ? nullptr : SSL_CTX_get0_certificate(ctx); }

}  // namespace

TEST_CASE("CertEntry accepts a valid chain and reports what it serves", "[tls]") {
  Pki pki;
  const auto e = entry(pki.issue({"Example.TEST", "www.example.test"}));
  CHECK(e->info().names == std::vector<std::string>{"example.test", "www.example.test"});
  CHECK_FALSE(e->info().serial_hex.empty());
  CHECK(e->info().key_kind == KeyKind::ecdsa);
  CHECK(sk_X509_num(e->intermediates()) == 1);
}

TEST_CASE("CertEntry refuses bad material and names the file and reason", "[tls]") {
  Pki pki;
  auto good = pki.issue({"a.test"});
  auto other = pki.issue({"a.test"});

  SECTION("key does not match") {
    auto m = good;
    m.key_pem = other.key_pem;
    m.key_source = "/etc/certs/a/key.pem";
    CHECK(error_of(m) == "/etc/certs/a/key.pem: the key does not match the certificate in fullchain.pem");
  }
  SECTION("expired leaf") {
    certpilot::test::Validity v;
    v.not_before = kNow() - std::chrono::hours(48);
    v.not_after = kNow() - std::chrono::hours(1);
    CHECK_THAT(error_of(pki.issue({"a.test"}, crypto::KeyType::ec_p256, v)),
               Catch::Contains("fullchain.pem: certificate 1 (CN=a.test) expired at"));
  }
  SECTION("not yet valid") {
    certpilot::test::Validity v;
    v.not_before = kNow() + std::chrono::hours(2);
    CHECK_THAT(error_of(pki.issue({"a.test"}, crypto::KeyType::ec_p256, v)), Catch::Contains("is not valid before"));
  }
  SECTION("chain out of order") {
    auto m = good;
    const auto split = m.chain_pem.find("-----END CERTIFICATE-----") + 26;
    m.chain_pem = m.chain_pem.substr(split) + m.chain_pem.substr(0, split);
    // The intermediate is now first: the key no longer matches the "leaf".
    CHECK_THAT(error_of(m), Catch::Contains("does not match"));
  }
  SECTION("intermediate from another CA") {
    Pki stranger;
    auto m = good;
    const auto split = m.chain_pem.find("-----END CERTIFICATE-----") + 26;
    m.chain_pem = m.chain_pem.substr(0, split) + stranger.inter.cert_pem();
    CHECK_THAT(error_of(m), Catch::Contains("chain out of order or broken: certificate 2 (CN=Test Intermediate) did "
                                            "not issue certificate 1 (CN=a.test)"));
  }
  SECTION("truncated chain") {
    auto m = good;
    m.chain_pem = m.chain_pem.substr(0, m.chain_pem.size() / 4);
    CHECK_THAT(error_of(m), Catch::Contains("fullchain.pem"));
  }
  SECTION("empty chain") {
    auto m = good;
    m.chain_pem = "";
    CHECK(error_of(m) == "certificate chain: fullchain.pem: no CERTIFICATE block found");
  }
  SECTION("garbage key") {
    auto m = good;
    m.key_pem = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    CHECK_THAT(error_of(m), Catch::StartsWith("private key: key.pem: no usable private key"));
  }
}

TEST_CASE("CertSet selects by exact name, then wildcard one label up, then the default", "[tls]") {
  Pki pki;
  const auto exact = entry(pki.issue({"www.example.test"}));
  const auto wild = entry(pki.issue({"*.example.test"}));
  const auto other = entry(pki.issue({"other.test"}));

  SniOptions sni;
  sni.default_name = "other.test";
  auto set = CertSet::build({exact, wild, other}, TlsSettings{}, sni);
  REQUIRE(set.has_value());
  const auto& s = **set;
  CHECK(leaf_of(s.select("www.example.test")) == exact->leaf());
  CHECK(leaf_of(s.select("WWW.Example.Test.")) == exact->leaf());
  CHECK(leaf_of(s.select("api.example.test")) == wild->leaf());
  CHECK(leaf_of(s.select("a.b.example.test")) == other->leaf());  // two labels: default
  CHECK(leaf_of(s.select("example.test")) == other->leaf());
  CHECK(leaf_of(s.select("")) == other->leaf());
  CHECK(s.info_for(wild->leaf()) == &wild->info());

  auto strict = CertSet::build({exact, wild}, TlsSettings{}, SniOptions{});
  REQUIRE(strict.has_value());
  CHECK((*strict)->select("unknown.test") == nullptr);
  CHECK((*strict)->select("") == nullptr);

  SniOptions missing;
  missing.default_name = "nothing.test";
  auto missed = CertSet::build({exact}, TlsSettings{}, missing);
  REQUIRE(missed.has_value());
  CHECK((*missed)->default_missing());
  CHECK((*missed)->select("unknown.test") == nullptr);
}

TEST_CASE("CertSet puts the ECDSA and RSA certificate of a name in one context", "[tls]") {
  Pki pki;
  const auto ec = entry(pki.issue({"dual.test"}, crypto::KeyType::ec_p256));
  const auto rsa = entry(pki.issue({"dual.test"}, crypto::KeyType::rsa2048));
  auto set = CertSet::build({ec, rsa}, TlsSettings{}, SniOptions{});
  REQUIRE(set.has_value());
  SSL_CTX* ctx = (*set)->select("dual.test");
  REQUIRE(ctx != nullptr);
  int certs = 0;
  for (long rc = SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_FIRST); rc == 1;
       rc = SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_NEXT)) {
    ++certs;
  }
  CHECK(certs == 2);
}

TEST_CASE("CertSet refuses an empty set", "[tls]") {
  auto set = CertSet::build({}, TlsSettings{}, SniOptions{});
  REQUIRE_FALSE(set.has_value());
  CHECK(set.error().message == "no certificate to serve");
}
