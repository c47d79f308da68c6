#include <openssl/err.h>

#include <catch2/catch.hpp>

#include "crypto/csr.hpp"
#include "crypto/ossl.hpp"

using namespace certpilot;
using namespace certpilot::crypto;

namespace {

X509ReqPtr parse_der(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509ReqPtr req(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
  REQUIRE(req);
  CHECK(p == reinterpret_cast<const unsigned char*>(der.data()) + der.size());
  return req;
}

std::vector<std::string> san_names(X509_REQ* req) {
  std::vector<std::string> names;
  STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(req);
  REQUIRE(exts != nullptr);
  const int idx = X509v3_get_ext_by_NID(exts, NID_subject_alt_name, -1);
  REQUIRE(idx >= 0);
  GeneralNamesPtr gens(static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(sk_X509_EXTENSION_value(exts, idx))));
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  REQUIRE(gens);
  for (int i = 0; i < sk_GENERAL_NAME_num(gens.get()); ++i) {
    const GENERAL_NAME* gen = sk_GENERAL_NAME_value(gens.get(), i);
    REQUIRE(gen->type == GEN_DNS);
    names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(gen->d.dNSName)),
                       static_cast<std::size_t>(ASN1_STRING_length(gen->d.dNSName)));
  }
  return names;
}

std::string subject_cn(X509_REQ* req) {
  X509_NAME* name = X509_REQ_get_subject_name(req);
  const int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (idx < 0) {
    return {};
  }
  const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<std::size_t>(ASN1_STRING_length(s)));
}

}  // namespace

TEST_CASE("CSR carries every name as a SAN, the first as CN, and verifies", "[crypto]") {
  for (auto type : {KeyType::ec_p256, KeyType::ec_p384, KeyType::rsa2048}) {
    DYNAMIC_SECTION(to_string(type)) {
      const auto key = PrivateKey::generate(type).value();
      const std::vector<std::string> names = {"example.test", "*.example.test", "www.example.test"};
      const auto der = make_csr_der(key, names);
      REQUIRE(der.has_value());
      const auto req = parse_der(*der);
      CHECK(X509_REQ_get_version(req.get()) == 0);
      CHECK(subject_cn(req.get()) == "example.test");
      CHECK(san_names(req.get()) == names);
      EVP_PKEY* pub = X509_REQ_get0_pubkey(req.get());
      REQUIRE(pub != nullptr);
      CHECK(EVP_PKEY_eq(pub, key.get()) == 1);
      CHECK(X509_REQ_verify(req.get(), pub) == 1);
      CHECK(X509_REQ_get_signature_nid(req.get()) ==
            (type == KeyType::rsa2048 ? NID_sha256WithRSAEncryption : NID_ecdsa_with_SHA256));
      CHECK(ERR_peek_error() == 0);
    }
  }
}

TEST_CASE("CSR omits the CN when the first name is longer than 64 characters", "[crypto]") {
  const auto key = PrivateKey::generate(KeyType::ec_p256).value();
  const std::string long_name = std::string(60, 'a') + ".example.test";
  const auto der = make_csr_der(key, {long_name, "short.test"});
  REQUIRE(der.has_value());
  const auto req = parse_der(*der);
  CHECK(subject_cn(req.get()).empty());
  CHECK(san_names(req.get()) == std::vector<std::string>{long_name, "short.test"});
}

TEST_CASE("CSR rejects empty name lists and names that cannot be dNSNames", "[crypto]") {
  const auto key = PrivateKey::generate(KeyType::ec_p256).value();
  const auto none = make_csr_der(key, {});
  REQUIRE_FALSE(none.has_value());
  CHECK(none.error().code == util::Errc::invalid_input);
  CHECK_THAT(none.error().message, Catch::Contains("no names"));
  CHECK_FALSE(make_csr_der(key, {""}).has_value());
  const auto space = make_csr_der(key, {"bad name.test"});
  REQUIRE_FALSE(space.has_value());
  CHECK_THAT(space.error().message, Catch::Contains("bad name.test"));
}
