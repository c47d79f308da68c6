// acme/directory: RFC 8555 §7.1.1 directories as Pebble and Let's Encrypt serve them.
#include <catch2/catch.hpp>

#include "acme/directory.hpp"

using namespace certpilot;
using util::Errc;

namespace {
const std::string kPebble = R"({
  "keyChange": "https://localhost:14000/rollover-account-key",
  "meta": {
    "externalAccountRequired": false,
    "termsOfService": "data:text/plain,Do%20what%20thou%20wilt",
    "profiles": {"default": "The profile you know and love", "shortlived": "A short-lived cert profile"}
  },
  "newAccount": "https://localhost:14000/sign-me-up",
  "newNonce": "https://localhost:14000/nonce-plz",
  "newOrder": "https://localhost:14000/order-plz",
  "renewalInfo": "https://localhost:14000/draft-ietf-acme-ari-03/renewalInfo/",
  "revokeCert": "https://localhost:14000/revoke-cert"
})";

const std::string kLetsEncrypt = R"({
  "Wk3dY5yVKrM": "https://community.letsencrypt.org/t/adding-random-entries-to-the-directory/33417",
  "keyChange": "https://acme-v02.api.letsencrypt.org/acme/key-change",
  "meta": {
    "caaIdentities": ["letsencrypt.org"],
    "profiles": {"classic": "https://letsencrypt.org/docs/profiles#classic", "tlsserver": 7},
    "termsOfService": "https://letsencrypt.org/documents/LE-SA-v1.5-February-24-2025.pdf",
    "website": "https://letsencrypt.org"
  },
  "newAccount": "https://acme-v02.api.letsencrypt.org/acme/new-acct",
  "newNonce": "https://acme-v02.api.letsencrypt.org/acme/new-nonce",
  "newOrder": "https://acme-v02.api.letsencrypt.org/acme/new-order",
  "renewalInfo": "https://acme-v02.api.letsencrypt.org/acme/renewal-info",
  "revokeCert": "https://acme-v02.api.letsencrypt.org/acme/revoke-cert"
})";
}  // namespace

TEST_CASE("parse_directory reads a Pebble directory", "[acme]") {
  auto d = acme::parse_directory("https://localhost:14000/dir", kPebble);
  REQUIRE(d);
  CHECK(d->url == "https://localhost:14000/dir");
  CHECK(d->new_nonce == "https://localhost:14000/nonce-plz");
  CHECK(d->new_account == "https://localhost:14000/sign-me-up");
  CHECK(d->new_order == "https://localhost:14000/order-plz");
  CHECK(d->revoke_cert == "https://localhost:14000/revoke-cert");
  CHECK(d->key_change == "https://localhost:14000/rollover-account-key");
  CHECK(d->renewal_info == std::optional<std::string>("https://localhost:14000/draft-ietf-acme-ari-03/renewalInfo/"));
  CHECK_FALSE(d->new_authz);
  CHECK(d->terms_of_service == std::optional<std::string>("data:text/plain,Do%20what%20thou%20wilt"));
  CHECK_FALSE(d->website);
  CHECK(d->caa_identities.empty());
  CHECK_FALSE(d->external_account_required);
  CHECK(d->profiles == std::map<std::string, std::string>{{"default", "The profile you know and love"},
                                                          {"shortlived", "A short-lived cert profile"}});
}

TEST_CASE("parse_directory reads a Let's Encrypt directory", "[acme]") {
  auto d = acme::parse_directory(acme::kLetsEncryptProduction, kLetsEncrypt);
  REQUIRE(d);
  CHECK(d->new_order == "https://acme-v02.api.letsencrypt.org/acme/new-order");
  CHECK(d->renewal_info == std::optional<std::string>("https://acme-v02.api.letsencrypt.org/acme/renewal-info"));
  CHECK(d->caa_identities == std::vector<std::string>{"letsencrypt.org"});
  CHECK(d->website == std::optional<std::string>("https://letsencrypt.org"));
  CHECK(d->terms_of_service ==
        std::optional<std::string>("https://letsencrypt.org/documents/LE-SA-v1.5-February-24-2025.pdf"));
  // A profile whose description is not a string is kept with an empty description.
  CHECK(d->profiles == std::map<std::string, std::string>{{"classic", "https://letsencrypt.org/docs/profiles#classic"},
                                                          {"tlsserver", ""}});
}

TEST_CASE("parse_directory reads externalAccountRequired and newAuthz", "[acme]") {
  auto d = acme::parse_directory("https://ca.test/dir", R"({
    "newNonce": "n", "newAccount": "a", "newOrder": "o", "revokeCert": "r", "keyChange": "k",
    "newAuthz": "https://ca.test/new-authz",
    "meta": {"externalAccountRequired": true, "caaIdentities": ["ca.test", 5, "other.test"]}})");
  REQUIRE(d);
  CHECK(d->external_account_required);
  CHECK(d->new_authz == std::optional<std::string>("https://ca.test/new-authz"));
  CHECK(d->caa_identities == std::vector<std::string>{"ca.test", "other.test"});  // non-strings skipped
  CHECK_FALSE(d->renewal_info);
}

TEST_CASE("parse_directory: an HTML page is invalid_input pointing at --directory", "[acme]") {
  const std::string html = "<!DOCTYPE html>\n<html><head><title>Welcome</title></head><body>hi</body></html>";
  auto d = acme::parse_directory("https://ca.test/", html);
  REQUIRE_FALSE(d);
  CHECK(d.error().code == Errc::invalid_input);
  CHECK_THAT(d.error().message, Catch::Contains("https://ca.test/") && Catch::Contains("is not JSON") &&
                                    Catch::Contains("--directory") && Catch::Contains("<!DOCTYPE html>"));
  CHECK(d.error().message.find('\n') == std::string::npos);  // the excerpt is one line
}

TEST_CASE("parse_directory: JSON that is not an object, or empty", "[acme]") {
  for (const char* body : {"", "[]", "\"newOrder\"", "null", "{\"newOrder\": "}) {
    auto d = acme::parse_directory("https://ca.test/dir", body);
    REQUIRE_FALSE(d);
    CHECK(d.error().code == Errc::invalid_input);
    CHECK_THAT(d.error().message, Catch::Contains("--directory"));
  }
}

TEST_CASE("parse_directory: a missing or non-string URL names the field", "[acme]") {
  auto missing = acme::parse_directory("https://ca.test/dir",
                                       R"({"newNonce": "n", "newAccount": "a", "revokeCert": "r", "keyChange": "k"})");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == Errc::invalid_input);
  CHECK(missing.error().message ==
        "ACME directory https://ca.test/dir has no \"newOrder\" URL: is this the CA's directory URL?");

  auto wrong_type = acme::parse_directory(
      "https://ca.test/dir", R"({"newNonce": 1, "newAccount": "a", "newOrder": "o", "revokeCert": "r", "keyChange": "k"})");
  REQUIRE_FALSE(wrong_type);
  CHECK_THAT(wrong_type.error().message, Catch::Contains("\"newNonce\""));

  // Another JSON API entirely.
  auto other = acme::parse_directory("https://api.test/", R"({"status": "ok", "version": "1.2"})");
  REQUIRE_FALSE(other);
  CHECK(other.error().code == Errc::invalid_input);
  CHECK_THAT(other.error().message, Catch::Contains("has no \"newNonce\" URL"));
}
