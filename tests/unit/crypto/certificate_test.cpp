#include <openssl/err.h>

#include <catch2/catch.hpp>

#include "crypto/certificate.hpp"
#include "support/test_ca.hpp"
#include "unit/crypto/test_helpers.hpp"

using namespace certpilot;
using namespace certpilot::crypto;
using std::chrono::hours;
using std::chrono::system_clock;

namespace {

// Fixed, whole-second times so not_before/not_after compare exactly.
const util::SysTime kStart = system_clock::from_time_t(1'700'000'000);
const util::SysTime kEnd = kStart + hours(24 * 90);

// The CAs cover the leaf's whole life and more, so each check below fails for the leaf alone.
const test::Validity kCaValidity{kStart - hours(24 * 365), kEnd + hours(24 * 365)};

struct Pki {
  test::TestCa root = test::TestCa::create("Test Root", KeyType::ec_p256, kCaValidity);
  test::TestCa intermediate = root.issue_intermediate("Test Intermediate", KeyType::ec_p384, kCaValidity);
  PrivateKey leaf_key = PrivateKey::generate(KeyType::ec_p256).value();
  std::string leaf_pem = intermediate.issue_leaf(leaf_key, {"example.test", "www.example.test"}, kStart, kEnd);

  Certificate root_cert() const { return Certificate::from_pem(root.cert_pem()).value(); }
  std::string chain_pem() const { return leaf_pem + intermediate.cert_pem(); }
};

}  // namespace

TEST_CASE("certificate inspection", "[crypto]") {
  const Pki pki;
  const auto leaf = Certificate::from_pem(pki.leaf_pem);
  REQUIRE(leaf.has_value());
  CHECK(leaf->dns_names() == std::vector<std::string>{"example.test", "www.example.test"});
  CHECK(leaf->subject() == "CN=example.test");
  CHECK(leaf->subject_cn() == "example.test");
  CHECK(leaf->issuer() == "CN=Test Intermediate");
  CHECK(leaf->issuer_cn() == "Test Intermediate");
  CHECK(leaf->not_before() == kStart);
  CHECK(leaf->not_after() == kEnd);
  CHECK_FALSE(leaf->is_ca());
  CHECK(leaf->matches_key(pki.leaf_key));
  CHECK_FALSE(leaf->matches_key(pki.intermediate.key()));
  CHECK_FALSE(leaf->matches_key(PrivateKey::generate(KeyType::rsa2048).value()));
  CHECK(leaf->public_key_der() == pki.leaf_key.public_der());
  CHECK(ERR_peek_error() == 0);

  // Serial: TestCa writes 16 bytes with the top bit clear, so DER content is the same 16 bytes.
  CHECK(leaf->serial_der().size() == 16);
  CHECK(leaf->serial_hex() == crypto_test::hex(leaf->serial_der()));
  CHECK(leaf->serial_hex().find_first_of("ABCDEF") == std::string::npos);
  BignumPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf->get()), nullptr));
  OsslStringPtr openssl_hex(BN_bn2hex(bn.get()));
  std::string lower(openssl_hex.get());
  for (auto& ch : lower) {
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  CHECK(leaf->serial_hex() == lower);

  const auto inter = Certificate::from_pem(pki.intermediate.cert_pem()).value();
  CHECK(inter.is_ca());
  CHECK(inter.dns_names().empty());
  // The leaf's AKI is the intermediate's SKI.
  const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(inter.get());
  REQUIRE(ski != nullptr);
  REQUIRE(leaf->authority_key_id().has_value());
  CHECK(*leaf->authority_key_id() == std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(ski)),
                                                 static_cast<std::size_t>(ASN1_STRING_length(ski))));
  CHECK_FALSE(pki.root_cert().authority_key_id().has_value());

  // DER and PEM round trips.
  const auto from_der = Certificate::from_der(leaf->to_der());
  REQUIRE(from_der.has_value());
  CHECK(from_der->to_pem() == pki.leaf_pem);
  CHECK_FALSE(Certificate::from_der(leaf->to_der() + "x").has_value());
  CHECK_FALSE(Certificate::from_der("").has_value());
  CHECK(ERR_peek_error() == 0);
}

TEST_CASE("chain accessors", "[crypto]") {
  const Pki pki;
  const auto chain = CertificateChain::from_pem(pki.chain_pem());
  REQUIRE(chain.has_value());
  CHECK(chain->certificates().size() == 2);
  CHECK(chain->leaf().subject_cn() == "example.test");
  CHECK(chain->intermediates().size() == 1);
  CHECK(chain->leaf_pem() == pki.leaf_pem);
  CHECK(chain->intermediates_pem() == pki.intermediate.cert_pem());
  CHECK(chain->full_pem() == pki.chain_pem());
  CHECK(chain->top_issuer_cn() == "Test Root");

  const auto leaf_only = CertificateChain::from_pem(pki.leaf_pem).value();
  CHECK(leaf_only.intermediates_pem().empty());
  CHECK_FALSE(CertificateChain::from_certificates({}).has_value());
}

TEST_CASE("chain verification", "[crypto]") {
  const Pki pki;
  const auto chain = CertificateChain::from_pem(pki.chain_pem()).value();
  const auto at = kStart + hours(24);
  const std::vector<Certificate> roots = {pki.root_cert()};

  SECTION("valid") {
    CHECK(chain.verify(roots, at).has_value());
    CHECK(chain.verify(roots, at, std::string("www.example.test")).has_value());
  }
  SECTION("wrong root") {
    const auto other = test::TestCa::create("Other Root", KeyType::ec_p256, kCaValidity);
    const auto r = chain.verify({Certificate::from_pem(other.cert_pem()).value()}, at);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == util::Errc::tls);
    CHECK_THAT(r.error().message, Catch::Contains("CN=Test Intermediate") &&
                                      Catch::Contains("unable to get local issuer certificate"));
  }
  SECTION("no intermediate: no partial chains") {
    const auto leaf_only = CertificateChain::from_pem(pki.leaf_pem).value();
    const auto r = leaf_only.verify(roots, at);
    REQUIRE_FALSE(r.has_value());
    CHECK_THAT(r.error().message, Catch::Contains("CN=example.test"));
    // Trusting the intermediate alone must not be enough either.
    const auto inter_as_root = leaf_only.verify({Certificate::from_pem(pki.intermediate.cert_pem()).value()}, at);
    CHECK_FALSE(inter_as_root.has_value());
  }
  SECTION("expired and not yet valid") {
    const auto expired = chain.verify(roots, kEnd + hours(1));
    REQUIRE_FALSE(expired.has_value());
    CHECK_THAT(expired.error().message, Catch::Contains("CN=example.test") && Catch::Contains("expired"));
    const auto early = chain.verify(roots, kStart - hours(1));
    REQUIRE_FALSE(early.has_value());
    CHECK_THAT(early.error().message, Catch::Contains("not yet valid"));
  }
  SECTION("wrong hostname") {
    const auto r = chain.verify(roots, at, std::string("other.test"));
    REQUIRE_FALSE(r.has_value());
    CHECK_THAT(r.error().message, Catch::Contains("hostname mismatch") && Catch::Contains("other.test"));
  }
  SECTION("no roots") {
    CHECK_FALSE(chain.verify({}, at).has_value());
  }
  CHECK(ERR_peek_error() == 0);
}

TEST_CASE("PEM parsing edge cases", "[crypto]") {
  const Pki pki;
  auto expect_error = [](std::string_view pem, const std::string& fragment) {
    const auto r = parse_pem_certificates(pem);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == util::Errc::invalid_input);
    CHECK_THAT(r.error().message, Catch::Contains(fragment));
    CHECK(ERR_peek_error() == 0);
  };
  SECTION("empty and text only") {
    expect_error("", "no CERTIFICATE block found");
    expect_error("just some words\n", "no CERTIFICATE block found");
  }
  SECTION("truncated") {
    expect_error(pki.leaf_pem.substr(0, pki.leaf_pem.size() - 30), "truncated CERTIFICATE block");
    // The first block is cut off by the start of the next one.
    const std::string cut = pki.leaf_pem.substr(0, 200) + "\n" + pki.intermediate.cert_pem();
    expect_error(cut, "certificate #1: truncated");
  }
  SECTION("wrong type") {
    expect_error(pki.leaf_key.to_pem(), "found a PRIVATE KEY block, expected CERTIFICATE");
    expect_error(pki.leaf_pem + pki.leaf_key.to_pem(), "certificate #2: found a PRIVATE KEY block");
  }
  SECTION("corrupt base64 and corrupt DER") {
    std::string bad_b64 = pki.leaf_pem;
    bad_b64[bad_b64.find('\n') + 3] = '*';
    expect_error(bad_b64, "not valid base64");
    const std::string bad_der = "-----BEGIN CERTIFICATE-----\nMIIBCgKCAQEA\n-----END CERTIFICATE-----\n";
    expect_error(bad_der, "not a DER certificate");
  }
  SECTION("text between blocks is ignored") {
    const std::string pem = "Bag Attributes\n    friendlyName: leaf\nsubject=/CN=example.test\n" + pki.leaf_pem +
                            "\n# the intermediate\n" + pki.intermediate.cert_pem() + "trailing words\n";
    const auto certs = parse_pem_certificates(pem);
    REQUIRE(certs.has_value());
    REQUIRE(certs->size() == 2);
    CHECK((*certs)[0].subject_cn() == "example.test");
    CHECK((*certs)[1].subject_cn() == "Test Intermediate");
    // CRLF line endings (Windows editors) parse too.
    std::string crlf;
    for (char ch : pki.leaf_pem) {
      if (ch == '\n') {
        crlf += '\r';
      }
      crlf += ch;
    }
    CHECK(Certificate::from_pem(crlf).has_value());
  }
  SECTION("Certificate::from_pem wants exactly one block") {
    const auto two = Certificate::from_pem(pki.chain_pem());
    REQUIRE_FALSE(two.has_value());
    CHECK_THAT(two.error().message, Catch::Contains("exactly one") && Catch::Contains("found 2"));
  }
}

TEST_CASE("TestCa issues RSA hierarchies as well", "[crypto]") {
  const auto root = test::TestCa::create("RSA Root", KeyType::rsa2048);
  const auto key = PrivateKey::generate(KeyType::rsa2048).value();
  const auto chain = CertificateChain::from_pem(root.issue_leaf(key, {"rsa.test"})).value();
  CHECK(chain.verify({Certificate::from_pem(root.cert_pem()).value()}, system_clock::now(), std::string("rsa.test"))
            .has_value());
  CHECK(chain.leaf().matches_key(key));
}

TEST_CASE("chain mismatch: the key, then exactly the requested names", "[crypto][certificate]") {
  const auto root = test::TestCa::create("Mismatch Root", KeyType::ec_p256, kCaValidity);
  const auto key = PrivateKey::generate(KeyType::ec_p256).value();
  const auto chain = CertificateChain::from_pem(root.issue_leaf(key, {"a.example.test", "*.example.test"})).value();
  CHECK(chain.mismatch(key, {"*.EXAMPLE.test", "a.example.test."}) == "");
  CHECK(chain.mismatch(key, {}) == "");
  CHECK(chain.mismatch(key, {"a.example.test"}) ==
        "the certificate names [*.example.test, a.example.test] but [a.example.test] was requested");
  const auto other = PrivateKey::generate(KeyType::ec_p256).value();
  CHECK_THAT(chain.mismatch(other, {"a.example.test"}), Catch::StartsWith("the private key does not belong to"));
}
