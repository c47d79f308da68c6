#include <openssl/err.h>

#include <catch2/catch.hpp>

#include "crypto/jws.hpp"
#include "unit/crypto/test_helpers.hpp"
#include "util/base64url.hpp"

using namespace certpilot;
using namespace certpilot::crypto;

namespace {

nlohmann::json decode_json(const nlohmann::json& b64) {
  const auto text = util::base64url_decode(b64.get<std::string>());
  REQUIRE(text.has_value());
  auto j = nlohmann::json::parse(*text, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  return j;
}

}  // namespace

TEST_CASE("ACME JWS verifies with plain OpenSSL for every key type", "[crypto]") {
  struct Case {
    KeyType type;
    const EVP_MD* md;
    std::size_t coord;
    std::size_t sig_size;
  };
  const Case cases[] = {{KeyType::ec_p256, EVP_sha256(), 32, 64},
                        {KeyType::ec_p384, EVP_sha384(), 48, 96},
                        {KeyType::rsa2048, EVP_sha256(), 0, 256}};
  for (const auto& c : cases) {
    DYNAMIC_SECTION(to_string(c.type)) {
      const auto key = PrivateKey::generate(c.type).value();
      const std::string payload = R"({"termsOfServiceAgreed":true})";
      const auto jws = acme_jws(key, "https://ca.test/new-acct", "nonce-1", std::nullopt, payload);
      REQUIRE(jws.has_value());
      CHECK(jws->size() == 3);
      const auto header = decode_json((*jws)["protected"]);
      CHECK(header["alg"] == key.jws_alg());
      CHECK(header["nonce"] == "nonce-1");
      CHECK(header["url"] == "https://ca.test/new-acct");
      CHECK(header["jwk"] == key.public_jwk());
      CHECK_FALSE(header.contains("kid"));
      CHECK(util::base64url_decode((*jws)["payload"].get<std::string>()).value() == payload);

      const auto sig = util::base64url_decode((*jws)["signature"].get<std::string>()).value();
      CHECK(sig.size() == c.sig_size);
      const auto pub = crypto_test::public_key_from_pem(key.public_pem());
      REQUIRE(pub);
      const std::string input = (*jws)["protected"].get<std::string>() + "." + (*jws)["payload"].get<std::string>();
      CHECK(crypto_test::openssl_verify(pub.get(), c.md, input, sig, c.coord));
      CHECK_FALSE(crypto_test::openssl_verify(pub.get(), c.md, input + "x", sig, c.coord));
      CHECK(jws_verify(key, *jws));
      CHECK(ERR_peek_error() == 0);
    }
  }
}

TEST_CASE("ACME JWS with kid and an empty POST-as-GET payload", "[crypto]") {
  const auto key = PrivateKey::generate(KeyType::ec_p256).value();
  const auto jws = acme_jws(key, "https://ca.test/order/1", "n2", std::string("https://ca.test/acct/7"), "");
  REQUIRE(jws.has_value());
  CHECK((*jws)["payload"] == "");  // RFC 8555 §6.3
  const auto header = decode_json((*jws)["protected"]);
  CHECK(header["kid"] == "https://ca.test/acct/7");
  CHECK_FALSE(header.contains("jwk"));
  CHECK(jws_verify(key, *jws));
}

TEST_CASE("jws_verify rejects tampering, the wrong key and malformed input", "[crypto]") {
  const auto key = PrivateKey::generate(KeyType::ec_p256).value();
  const auto other = PrivateKey::generate(KeyType::ec_p256).value();
  const auto rsa = PrivateKey::generate(KeyType::rsa2048).value();
  const auto jws = jws_sign(key, {{"alg", "ES256"}}, "hello").value();
  CHECK(jws_verify(key, jws));
  CHECK_FALSE(jws_verify(other, jws));
  CHECK_FALSE(jws_verify(rsa, jws));  // alg mismatch

  auto tampered = jws;
  tampered["payload"] = util::base64url_encode("hellO");
  CHECK_FALSE(jws_verify(key, tampered));
  auto short_sig = jws;
  short_sig["signature"] = util::base64url_encode("abc");
  CHECK_FALSE(jws_verify(key, short_sig));
  auto bad_b64 = jws;
  bad_b64["signature"] = "***";
  CHECK_FALSE(jws_verify(key, bad_b64));
  CHECK_FALSE(jws_verify(key, nlohmann::json::array()));
  CHECK_FALSE(jws_verify(key, nlohmann::json{{"protected", 1}}));
  auto bad_header = jws;
  bad_header["protected"] = util::base64url_encode("{not json");
  CHECK_FALSE(jws_verify(key, bad_header));
  CHECK(ERR_peek_error() == 0);
}

TEST_CASE("EAB JWS has the RFC 8555 §7.3.4 shape and an HMAC signature", "[crypto]") {
  const auto account = PrivateKey::generate(KeyType::ec_p256).value();
  const std::string mac_key = "\x01\x02\x03secret-mac-key";
  const auto jws = eab_jws("HS256", "kid-123", mac_key, account.public_jwk(), "https://ca.test/new-acct");
  REQUIRE(jws.has_value());
  const auto header = decode_json((*jws)["protected"]);
  CHECK(header == nlohmann::json{{"alg", "HS256"}, {"kid", "kid-123"}, {"url", "https://ca.test/new-acct"}});
  CHECK(decode_json((*jws)["payload"]) == account.public_jwk());
  const std::string input = (*jws)["protected"].get<std::string>() + "." + (*jws)["payload"].get<std::string>();
  CHECK(util::base64url_decode((*jws)["signature"].get<std::string>()).value() ==
        hmac(HmacAlg::sha256, mac_key, input).value());

  const auto hs512 = eab_jws("HS512", "k", mac_key, account.public_jwk(), "u");
  REQUIRE(hs512.has_value());
  CHECK(util::base64url_decode((*hs512)["signature"].get<std::string>())->size() == 64);

  const auto bad_alg = eab_jws("RS256", "k", mac_key, account.public_jwk(), "u");
  REQUIRE_FALSE(bad_alg.has_value());
  CHECK_THAT(bad_alg.error().message, Catch::Contains("RS256"));
  CHECK_THAT(bad_alg.error().message, !Catch::Contains("secret"));
  CHECK_FALSE(eab_jws("HS256", "k", "", account.public_jwk(), "u").has_value());
}
