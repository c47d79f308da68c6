// acme/issuance: the key authorization (RFC 8555 §8.1) and its DNS-01 TXT value (§8.4), checked
// against values computed here with OpenSSL directly.
#include <catch2/catch.hpp>

#include <openssl/sha.h>

#include "acme/issuance.hpp"
#include "util/base64url.hpp"

using namespace certpilot;

namespace {
std::string openssl_sha256(const std::string& data) {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
  return std::string(reinterpret_cast<const char*>(out), sizeof out);
}

// RFC 7638 §3: the required members in lexicographic order, no whitespace.
std::string canonical_jwk(const nlohmann::json& jwk) {
  if (jwk.at("kty") == "EC") {
    return R"({"crv":")" + jwk.at("crv").get<std::string>() + R"(","kty":"EC","x":")" +
           jwk.at("x").get<std::string>() + R"(","y":")" + jwk.at("y").get<std::string>() + R"("})";
  }
  return R"({"e":")" + jwk.at("e").get<std::string>() + R"(","kty":"RSA","n":")" + jwk.at("n").get<std::string>() +
         R"("})";
}

const std::string kToken = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA";  // RFC 8555 §8.4's example token
}  // namespace

TEST_CASE("the RFC 7638 §3.1 thumbprint vector", "[acme]") {
  const auto jwk = nlohmann::json::parse(R"({
    "kty": "RSA",
    "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29"})");
  const std::string canonical = canonical_jwk(jwk);
  CHECK(util::base64url_encode(openssl_sha256(canonical)) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  CHECK(crypto::jwk_thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}

TEST_CASE("key_authorization is token '.' base64url(JWK thumbprint)", "[acme]") {
  for (const auto type : {crypto::KeyType::ec_p256, crypto::KeyType::ec_p384, crypto::KeyType::rsa2048}) {
    auto key = crypto::PrivateKey::generate(type);
    REQUIRE(key);
    const std::string expected_thumbprint =
        util::base64url_encode(openssl_sha256(canonical_jwk(key->public_jwk())));
    CHECK(expected_thumbprint.size() == 43);  // 32 bytes, unpadded base64url
    const std::string ka = acme::key_authorization(kToken, *key);
    CHECK(ka == kToken + "." + expected_thumbprint);
    // Deterministic for one key, different for another.
    CHECK(acme::key_authorization(kToken, *key) == ka);
    auto other = crypto::PrivateKey::generate(type);
    REQUIRE(other);
    CHECK(acme::key_authorization(kToken, *other) != ka);
  }
}

TEST_CASE("dns01_txt_value is base64url(SHA-256(key authorization)), unpadded", "[acme]") {
  auto key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  REQUIRE(key);
  const std::string ka = acme::key_authorization(kToken, *key);
  const std::string value = acme::dns01_txt_value(ka);
  CHECK(value == util::base64url_encode(openssl_sha256(ka)));
  CHECK(value.size() == 43);
  CHECK(value.find_first_of("+/=") == std::string::npos);

  // A fixed input: SHA-256("abc") is ba7816bf...15ad, in base64url:
  CHECK(acme::dns01_txt_value("abc") == "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
  CHECK(acme::dns01_txt_value("") == "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
}
