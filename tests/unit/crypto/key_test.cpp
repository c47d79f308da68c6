#include <openssl/err.h>

#include <catch2/catch.hpp>

#include "crypto/key.hpp"
#include "support/temp_dir.hpp"
#include "unit/crypto/test_helpers.hpp"
#include "util/base64url.hpp"

using namespace certpilot;
using namespace certpilot::crypto;
using certpilot::crypto_test::hex;

TEST_CASE("parse_key_type accepts the documented names and lists them on error", "[crypto]") {
  CHECK(parse_key_type("ec256").value() == KeyType::ec_p256);
  CHECK(parse_key_type("P256").value() == KeyType::ec_p256);
  CHECK(parse_key_type("ECDSA-P256").value() == KeyType::ec_p256);
  CHECK(parse_key_type("ec-p256").value() == KeyType::ec_p256);
  CHECK(parse_key_type("ec384").value() == KeyType::ec_p384);
  CHECK(parse_key_type("p384").value() == KeyType::ec_p384);
  CHECK(parse_key_type("RSA2048").value() == KeyType::rsa2048);
  CHECK(parse_key_type("rsa3072").value() == KeyType::rsa3072);
  CHECK(parse_key_type("rsa4096").value() == KeyType::rsa4096);
  const auto bad = parse_key_type("ed25519");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().code == util::Errc::invalid_input);
  CHECK_THAT(bad.error().message, Catch::Contains("ed25519") && Catch::Contains("rsa4096"));
  for (auto t : {KeyType::ec_p256, KeyType::ec_p384, KeyType::rsa2048, KeyType::rsa3072, KeyType::rsa4096}) {
    CHECK(parse_key_type(to_string(t)).value() == t);
  }
}

TEST_CASE("RFC 7638 §3.1 thumbprint of the example RSA key", "[crypto]") {
  // The JWK of RFC 7638 §3.1 (from RFC 7517 Appendix A.1); alg and kid are not required members.
  const auto jwk = nlohmann::json::parse(R"({
    "kty": "RSA",
    "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29"
  })");
  CHECK(jwk_thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  CHECK(jwk_thumbprint(nlohmann::json{{"kty", "RSA"}, {"n", "AQAB"}}).empty());  // e missing
  CHECK(jwk_thumbprint(nlohmann::json{{"kty", "XYZ"}}).empty());
  CHECK(jwk_thumbprint(nlohmann::json::array()).empty());
}

TEST_CASE("generated keys have the right JWK, PEM round trip and signature sizes", "[crypto]") {
  struct Case {
    KeyType type;
    const char* alg;
    const char* crv;
    std::size_t coord;
    std::size_t sig_size;
  };
  const Case cases[] = {{KeyType::ec_p256, "ES256", "P-256", 32, 64},
                        {KeyType::ec_p384, "ES384", "P-384", 48, 96},
                        {KeyType::rsa2048, "RS256", nullptr, 0, 256},
                        {KeyType::rsa3072, "RS256", nullptr, 0, 384}};
  for (const auto& c : cases) {
    DYNAMIC_SECTION(to_string(c.type)) {
      auto key = PrivateKey::generate(c.type);
      REQUIRE(key.has_value());
      CHECK(key->type() == c.type);
      CHECK(key->jws_alg() == c.alg);
      const auto jwk = key->public_jwk();
      if (c.crv != nullptr) {
        CHECK(jwk.size() == 4);
        CHECK(jwk["kty"] == "EC");
        CHECK(jwk["crv"] == c.crv);
        CHECK(util::base64url_decode(jwk["x"].get<std::string>())->size() == c.coord);
        CHECK(util::base64url_decode(jwk["y"].get<std::string>())->size() == c.coord);
      } else {
        CHECK(jwk.size() == 3);
        CHECK(jwk["kty"] == "RSA");
        CHECK(jwk["e"] == "AQAB");  // 65537
        const auto n = util::base64url_decode(jwk["n"].get<std::string>()).value();
        CHECK(n.size() == c.sig_size);
        CHECK(n[0] != '\0');  // no leading zero octet
      }
      CHECK(key->jwk_thumbprint() == jwk_thumbprint(jwk));
      CHECK(key->jwk_thumbprint().size() == 43);

      const std::string pem = key->to_pem();
      CHECK_THAT(pem, Catch::StartsWith("-----BEGIN PRIVATE KEY-----"));
      auto again = PrivateKey::from_pem(pem);
      REQUIRE(again.has_value());
      CHECK(again->type() == c.type);
      CHECK(again->public_der() == key->public_der());
      CHECK(again->public_jwk() == jwk);
      CHECK_THAT(key->public_pem(), Catch::StartsWith("-----BEGIN PUBLIC KEY-----"));

      // Traditional ("EC PRIVATE KEY" / "RSA PRIVATE KEY") PEM is accepted too.
      const std::string trad = crypto_test::traditional_pem(key->get());
      CHECK_THAT(trad, Catch::Contains(c.crv ? "EC PRIVATE KEY" : "RSA PRIVATE KEY"));
      auto trad_key = PrivateKey::from_pem(trad);
      REQUIRE(trad_key.has_value());
      CHECK(trad_key->public_der() == key->public_der());

      const auto sig = key->sign("payload");
      REQUIRE(sig.has_value());
      CHECK(sig->size() == c.sig_size);
      CHECK(ERR_peek_error() == 0);
    }
  }
}

TEST_CASE("rsa4096 generation", "[crypto]") {
  auto key = PrivateKey::generate(KeyType::rsa4096);
  REQUIRE(key.has_value());
  CHECK(key->type() == KeyType::rsa4096);
  CHECK(key->sign("x")->size() == 512);
}

TEST_CASE("from_pem rejects what is not a usable private key, naming what it found", "[crypto]") {
  auto ec = PrivateKey::generate(KeyType::ec_p256).value();
  const std::string good = ec.to_pem();

  auto expect_error = [](std::string_view pem, const std::string& fragment) {
    const auto r = PrivateKey::from_pem(pem);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == util::Errc::invalid_input);
    CHECK_THAT(r.error().message, Catch::Contains(fragment));
    CHECK(ERR_peek_error() == 0);
  };
  SECTION("empty and garbage") {
    expect_error("", "no PEM block found");
    expect_error("hello world\n", "no PEM block found");
  }
  SECTION("truncated") {
    expect_error(good.substr(0, good.size() / 2), "truncated PRIVATE KEY block");
    expect_error("-----BEGIN PRIV", "truncated");
  }
  SECTION("corrupt body") {
    std::string bad = good;
    bad.replace(bad.find('\n') + 5, 10, "!!!!!!!!!!");
    expect_error(bad, "cannot decode PRIVATE KEY block");
  }
  SECTION("encrypted") {
    expect_error(crypto_test::encrypted_pkcs8_pem(ec.get()), "encrypted");
    // Traditional encryption carries RFC 1421 headers inside an "EC PRIVATE KEY" block.
    crypto::BioPtr bio(BIO_new(BIO_s_mem()));
    char pass[] = "not-a-real-passphrase";
    PEM_write_bio_PrivateKey_traditional(bio.get(), ec.get(), EVP_aes_128_cbc(),
                                         reinterpret_cast<unsigned char*>(pass), sizeof pass - 1, nullptr, nullptr);
    expect_error(crypto_test::bio_string(bio.get()), "encrypted");
  }
  SECTION("other key types") {
    expect_error(crypto_test::foreign_key_pem("ED25519"), "unsupported key type ED25519");
    expect_error(crypto_test::foreign_key_pem("EC", "P-521"), "unsupported EC curve secp521r1");
  }
  SECTION("wrong block type") {
    expect_error(ec.public_pem(), "found a PUBLIC KEY block, expected PRIVATE KEY");
    expect_error("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                 "found a CERTIFICATE block, expected PRIVATE KEY");
  }
}

TEST_CASE("from_pem finds the key among other blocks", "[crypto]") {
  auto ec = PrivateKey::generate(KeyType::ec_p256).value();
  // `openssl ecparam -genkey` output: the curve parameters, then a traditional EC key.
  crypto::BioPtr bio(BIO_new(BIO_s_mem()));
  REQUIRE(PEM_write_bio_Parameters(bio.get(), ec.get()) == 1);
  const std::string ecparam = crypto_test::bio_string(bio.get()) + crypto_test::traditional_pem(ec.get());
  CHECK_THAT(ecparam, Catch::StartsWith("-----BEGIN EC PARAMETERS-----"));
  auto from_ecparam = PrivateKey::from_pem(ecparam);
  REQUIRE(from_ecparam.has_value());
  CHECK(from_ecparam->public_der() == ec.public_der());
  // A combined file: something else first, then the key.
  auto combined = PrivateKey::from_pem(ec.public_pem() + "comment\n" + ec.to_pem());
  REQUIRE(combined.has_value());
  CHECK(combined->public_der() == ec.public_der());
  CHECK(ERR_peek_error() == 0);
}

TEST_CASE("load names the file and reads keys", "[crypto]") {
  test::TempDir dir;
  const auto missing = PrivateKey::load((dir / "nope.pem").string());
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code == util::Errc::not_found);
  CHECK_THAT(missing.error().message, Catch::Contains("nope.pem"));

  test::write_file(dir / "bad.pem", "garbage");
  const auto bad = PrivateKey::load((dir / "bad.pem").string());
  REQUIRE_FALSE(bad.has_value());
  CHECK_THAT(bad.error().message, Catch::Contains("bad.pem") && Catch::Contains("no PEM block"));

  auto key = PrivateKey::generate(KeyType::ec_p384).value();
  test::write_file(dir / "key.pem", "# a comment before the key\n" + key.to_pem());
  auto loaded = PrivateKey::load((dir / "key.pem").string());
  REQUIRE(loaded.has_value());
  CHECK(loaded->public_der() == key.public_der());
}

TEST_CASE("digests and HMAC match published vectors", "[crypto]") {
  CHECK(hex(sha256("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(hex(sha384("abc")) ==
        "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7");
  // RFC 4231 §4.3, test case 2: key "Jefe".
  const std::string data = "what do ya want for nothing?";
  CHECK(hex(hmac(HmacAlg::sha256, "Jefe", data).value()) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  CHECK(hex(hmac(HmacAlg::sha512, "Jefe", data).value()) ==
        "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
        "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737");
  // RFC 2104 Appendix / RFC 2202 test case 2 for the TSIG algorithms.
  CHECK(hex(hmac(HmacAlg::md5, "Jefe", data).value()) == "750c783e6ab0b503eaa86e310a5db738");
  CHECK(hex(hmac(HmacAlg::sha1, "Jefe", data).value()) == "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
  CHECK(hmac(HmacAlg::sha384, "Jefe", data)->size() == 48);
  CHECK(hmac(HmacAlg::sha256, "", "x")->size() == 32);  // an empty key is legal HMAC
  CHECK(random_bytes(32).size() == 32);
  CHECK(random_bytes(32) != random_bytes(32));
  CHECK(random_bytes(0).empty());
}
