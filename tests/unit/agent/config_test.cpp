#include <catch2/catch.hpp>

#include <algorithm>

#include "agent/config.hpp"
#include "support/temp_dir.hpp"

using namespace certpilot;
using namespace certpilot::agent;

namespace {

const char* kValid = R"(# a full example
[ca]
directory = "letsencrypt-staging"
email = "admin@example.com"
agree_tos = true
eab_kid = "kid-1"
eab_hmac_key_file = "/etc/certpilot/eab.key"
preferred_chain = "ISRG Root X1"
profile = "tlsserver"

[storage]
dir = "/var/lib/certpilot"
archive_keep = 3

[dns.bind]
provider = "rfc2136"
options = { server = "127.0.0.1:53", tsig_key_name = "certpilot.", tsig_secret_file = "/etc/certpilot/tsig.key" }
propagation = "authoritative"
propagation_timeout = "3m"
caa_identity = "letsencrypt.org"

[dns.cf]
provider = "cloudflare"
options = { api_token_file = "/etc/certpilot/cf.token" }
resolvers = ["1.1.1.1:53", "8.8.8.8"]
propagation = "resolvers"
propagation_timeout = 300

[[certificate]]
name = "www"
domains = ["Example.com", "www.example.com."]
key_type = "ec384"
dns = "bind"
deploy_hook = "/usr/local/bin/reload-nginx"
deploy_hook_timeout = "30s"

[[certificate]]
name = "wild"
domains = ["*.example.org"]
dns = "cf"

[daemon]
max_parallel_orders = 2
renew_before = "30d"

[listener]
enabled = true
listen = ["0.0.0.0:443", "[::]:443"]
backend = "127.0.0.1:8080"
default_certificate = "www"
)";

std::vector<std::string> issues_of(const std::string& text) {
  auto check = check_config_text(text, "test.toml");
  std::vector<std::string> out;
  for (const auto& i : check.issues) out.push_back(format_issue("test.toml", i));
  CHECK(check.config.has_value() == out.empty());
  return out;
}

const std::string kMinimalCa = "[ca]\ndirectory = \"https://localhost:14000/dir\"\n";

}  // namespace

TEST_CASE("config: the full example parses into the structs", "[agent][config]") {
  auto check = check_config_text(kValid, "certpilot.toml");
  for (const auto& i : check.issues) INFO(format_issue("certpilot.toml", i));
  REQUIRE(check.issues.empty());
  const Config& c = *check.config;
  CHECK(c.ca.directory == "https://acme-staging-v02.api.letsencrypt.org/directory");
  CHECK(c.ca.agree_tos);
  CHECK(c.ca.eab_kid == "kid-1");
  CHECK(c.ca.preferred_chain == "ISRG Root X1");
  CHECK(c.storage.archive_keep == 3);
  REQUIRE(c.dns.size() == 2);
  CHECK(c.dns.at("bind").provider == "rfc2136");
  CHECK(c.dns.at("bind").options.at("server") == "127.0.0.1:53");
  CHECK(c.dns.at("bind").propagation_timeout == std::chrono::minutes(3));
  CHECK(c.dns.at("cf").propagation == Propagation::resolvers);
  CHECK(c.dns.at("cf").propagation_timeout == std::chrono::seconds(300));
  REQUIRE(c.certificates.size() == 2);
  CHECK(c.certificates[0].domains == std::vector<std::string>{"example.com", "www.example.com"});
  CHECK(c.certificates[0].key_type == crypto::KeyType::ec_p384);
  CHECK(c.certificates[0].deploy_hook_timeout == std::chrono::seconds(30));
  CHECK(c.certificates[0].line == 29);
  CHECK(c.certificates[1].key_type == crypto::KeyType::ec_p256);
  CHECK(c.daemon.max_parallel_orders == 2);
  CHECK(c.daemon.renew_before == std::chrono::hours(24 * 30));
  CHECK(c.listener.enabled);
  CHECK(c.listener.listen.size() == 2);
  CHECK(c.listener.default_certificate == "www");
  CHECK(c.find_certificate("wild") != nullptr);
}

TEST_CASE("config: defaults for a minimal file", "[agent][config]") {
  auto check = check_config_text(kMinimalCa, "m.toml");
  REQUIRE(check.config.has_value());
  CHECK(check.config->storage.dir == "/var/lib/certpilot");
  CHECK(check.config->storage.archive_keep == 5);
  CHECK(check.config->daemon.max_parallel_orders == 4);
  CHECK_FALSE(check.config->listener.enabled);
  CHECK(check.config->certificates.empty());
}

TEST_CASE("config: a single dns setup is used when a certificate names none", "[agent][config]") {
  auto check = check_config_text(kMinimalCa + "[dns.only]\nprovider = \"exec\"\noptions = { program = \"/bin/true\" }\n"
                                              "[[certificate]]\nname = \"a\"\n"
                                              "domains = [\"a.test\"]\n",
                                 "t.toml");
  REQUIRE(check.config.has_value());
  CHECK(check.config->certificates[0].dns == "only");
}

TEST_CASE("config: unknown keys are errors with their line and column", "[agent][config]") {
  const auto issues = issues_of(kMinimalCa + "emial = \"x@y.z\"\n[storage]\ndri = \"/x\"\n");
  REQUIRE(issues.size() == 2);
  CHECK(issues[0].rfind("test.toml:3:1: unknown key \"emial\" in [ca] (a typo?); allowed keys: directory,", 0) == 0);
  CHECK(issues[1].rfind("test.toml:5:1: unknown key \"dri\" in [storage]", 0) == 0);
}

TEST_CASE("config: TOML syntax errors name the line", "[agent][config]") {
  const auto issues = issues_of("[ca]\ndirectory = \"https://x/dir\n");
  REQUIRE(issues.size() == 1);
  CHECK(issues[0].rfind("test.toml:2:", 0) == 0);
  CHECK(issues[0].find("TOML syntax") != std::string::npos);
}

TEST_CASE("config: every problem is reported, in file order", "[agent][config]") {
  const auto issues = issues_of(R"([ca]
directory = "acme.example.com"
email = "mailto:a@b.c"
agree_tos = "yes"
eab_kid = "k"
[storage]
dir = "relative/path"
archive_keep = -1
[dns.x]
provider = "route53"
propagation = "fast"
propagation_timeout = "soon"
[[certificate]]
name = "Bad Name"
domains = ["exa mple.com", "a.*.example.com", "192.0.2.1", "ok.test", "OK.test."]
key_type = "dsa"
dns = "y"
deploy_hook = "reload.sh"
[[certificate]]
domains = []
[daemon]
max_parallel_orders = 0
[listener]
listen = ["0.0.0.0"]
backend = "localhost"
default_certificate = "nope"
)");
  const std::vector<std::string> expect = {
      "test.toml:2:13: [ca] directory must be an https:// URL",
      "test.toml:3:9: [ca] email must be a plain address",
      "test.toml:4:13: [ca] agree_tos must be true or false, not a string",
      "test.toml:5:11: [ca] eab_kid and eab_hmac_key_file go together",
      "test.toml:7:7: [storage] dir must be an absolute path",
      "test.toml:8:16: [storage] archive_keep must be between 0 and 1000, not -1",
      "test.toml:10:12: [dns.x] provider \"route53\" is not known",
      "test.toml:11:15: [dns.x] propagation must be",
      "test.toml:12:23: [dns.x] propagation_timeout must be a duration",
      "test.toml:14:8: certificate name \"Bad Name\": only lowercase letters",
      "test.toml:15:12: invalid domain name \"exa mple.com\": contains a space",
      "test.toml:15:28: invalid domain name \"a.*.example.com\": a wildcard",
      "test.toml:15:47: invalid domain name \"192.0.2.1\": looks like an IP address",
      "test.toml:15:71: domain \"ok.test\" is listed twice",
      "test.toml:16:12: unknown key type \"dsa\"",
      "test.toml:17:7: [[certificate]] \"Bad Name\" dns = \"y\" names no [dns.y] section (defined: x)",
      "test.toml:18:15: [[certificate]] \"Bad Name\" deploy_hook must be an absolute path",
      "test.toml:19:1: [[certificate]] name is required",
      "test.toml:20:11: [[certificate]] domains must name at least one domain",
      "test.toml:22:23: [daemon] max_parallel_orders must be between 1 and 64, not 0",
      "test.toml:24:11: [listener] listen: \"0.0.0.0\" is not an address:port",
      "test.toml:25:11: [listener] backend \"localhost\" is not host:port",
      "test.toml:26:23: [listener] default_certificate \"nope\" names no [[certificate]]",
  };
  REQUIRE(issues.size() == expect.size());
  std::size_t j = 0;
  for (const auto& e : expect) {
    INFO("expected: " << e << "\n got: " << (j < issues.size() ? issues[j] : "(none)"));
    CHECK(issues[j].rfind(e, 0) == 0);
    ++j;
  }
}

TEST_CASE("config: secrets in dns options never appear in messages", "[agent][config]") {
  const auto issues = issues_of(kMinimalCa + "[dns.x]\nprovider = \"pdns\"\noptions = { api_key = 12345678, "
                                             "token = \"s3cr3t-value\" }\nbogus = \"s3cr3t-value\"\n");
  REQUIRE(issues.size() == 3);
  for (const auto& i : issues) CHECK(i.find("s3cr3t") == std::string::npos);
  const auto any = [&](const std::string& text) {
    return std::any_of(issues.begin(), issues.end(), [&](const std::string& i) { return i.find(text) != std::string::npos; });
  };
  CHECK(any("options.api_key must be a string"));
  CHECK(any("pdns: unknown option \"token\""));
}

TEST_CASE("config: dns option keys are checked against the provider, in either spelling", "[agent][config]") {
  const auto typo = issues_of(kMinimalCa + "[dns.x]\nprovider = \"rfc2136\"\noptions = { server = \"127.0.0.1\", "
                                           "tsig_key_name = \"k\", tsig_secret_fil = \"/etc/k\" }\n");
  REQUIRE(typo.size() == 1);
  CHECK(typo[0].find("rfc2136: unknown option \"tsig-secret-fil\"") != std::string::npos);
  CHECK(typo[0].find("tsig-secret-file") != std::string::npos);  // the known keys are listed
  CHECK(issues_of(kMinimalCa + "[dns.x]\nprovider = \"rfc2136\"\noptions = { server = \"127.0.0.1\", "
                               "tsig_key_name = \"k\", tsig-secret-file = \"/etc/k\" }\n")
            .empty());
  CHECK(issues_of(kMinimalCa + "[dns.x]\nprovider = \"exec\"\noptions = { program = \"/bin/true\", retries = \"3\" }\n")
            .size() == 1);
}

TEST_CASE("config: dns option values are checked by the provider itself, without reading secrets",
          "[agent][config]") {
  const auto one_issue = [](const std::string& dns, const std::string& expected) {
    const auto issues = issues_of(kMinimalCa + "[dns.x]\n" + dns + "\n");
    INFO(dns);
    REQUIRE(issues.size() == 1);
    CHECK_THAT(issues[0], Catch::Contains("[dns.x]") && Catch::Contains(expected));
  };
  one_issue("provider = \"exec\"", "exec: no program given");
  one_issue("provider = \"exec\"\noptions = { program = \"/nonexistent/hook\" }", "missing or not executable");
  one_issue("provider = \"rfc2136\"\noptions = { server = \"127.0.0.1:99999\", tsig_key_name = \"k\", "
            "tsig_secret_file = \"/etc/k\" }", "99999");
  one_issue("provider = \"rfc2136\"\noptions = { server = \"127.0.0.1\", tsig_key_name = \"k\", "
            "tsig_algorithm = \"hmac-sha3\", tsig_secret_file = \"/etc/k\" }", "hmac-sha3");
  one_issue("provider = \"rfc2136\"\noptions = { server = \"127.0.0.1\", tsig_key_name = \"k\", "
            "tsig_secret_file = \"/etc/k\", tsig_secret_env = \"K\" }", "tsig-secret");
  one_issue("provider = \"challtestsrv\"\noptions = { url = \"not a url\" }", "challtestsrv");
  one_issue("provider = \"cloudflare\"", "cloudflare");
  // The secret file need not exist (nor be readable) for the config to load: it is read per order.
  // A missing one is a warning, so the daemon still starts and serves its other certificates.
  const auto missing = check_config_text(kMinimalCa + "[dns.x]\nprovider = \"rfc2136\"\noptions = { server = \"127.0.0.1\", "
                                                      "tsig_key_name = \"k\", tsig_secret_file = \"/nonexistent/secret\" }\n",
                                         "test.toml");
  CHECK(missing.issues.empty());
  REQUIRE(missing.config);
  REQUIRE(missing.config->warnings.size() == 1);
  CHECK(missing.config->warnings[0] ==
        "test.toml:5:11: [dns.x] options.tsig_secret_file: /nonexistent/secret: no such file (yet); orders using this "
        "setup fail until it exists");
}

TEST_CASE("config: a secret file that is a folder, or a pasted secret in its place, is a warning that quotes no secret",
          "[agent][config]") {
  test::TempDir tmp;
  const auto warnings_of = [](const std::string& file) {
    const auto check = check_config_text(kMinimalCa + "[dns.x]\nprovider = \"pdns\"\noptions = { api_url = "
                                                      "\"http://127.0.0.1:8081\", api_key_file = \"" + file + "\" }\n",
                                         "test.toml");
    CHECK(check.issues.empty());
    return check.config ? check.config->warnings : std::vector<std::string>{};
  };
  const auto folder = warnings_of(tmp.path().string());
  REQUIRE(folder.size() == 1);
  CHECK_THAT(folder[0], Catch::Contains(tmp.path().string() + " is a folder"));
  const std::string pasted = "dG9rZW4tdGhhdC1pcy1zZWNyZXQtdmFsdWU";
  const auto token = warnings_of(pasted);
  REQUIRE(token.size() == 1);
  CHECK(token[0].find(pasted) == std::string::npos);
  test::write_file(tmp / "key", "secret\n");
  CHECK(warnings_of((tmp / "key").string()).empty());
}

TEST_CASE("config: one option in two spellings, a zero propagation_timeout, a bad caa_identity are errors",
          "[agent][config]") {
  const auto both = issues_of(kMinimalCa + "[dns.x]\nprovider = \"rfc2136\"\noptions = { server = \"127.0.0.1\", "
                                           "tsig_key_name = \"a\", tsig-key-name = \"b\", tsig_secret_env = \"K\" }\n");
  REQUIRE(both.size() == 1);
  CHECK_THAT(both[0], Catch::Contains("tsig-key-name and tsig_key_name are the same option; keep one"));
  const std::string dns = kMinimalCa + "[dns.x]\nprovider = \"challtestsrv\"\noptions = { url = \"http://127.0.0.1:8055\" }\n";
  const auto zero = issues_of(dns + "propagation_timeout = 0\n");
  REQUIRE(zero.size() == 1);
  CHECK_THAT(zero[0], Catch::Contains("propagation_timeout must be more than 0"));
  const auto caa = issues_of(dns + "caa_identity = [\"letsencrypt.org\", \"not a domain!\", 7]\n");
  REQUIRE(caa.size() == 2);
  CHECK_THAT(caa[0], Catch::Contains("caa_identity: CAA identity \"not a domain!\" is not a domain name"));
  CHECK_THAT(caa[1], Catch::Contains("caa_identity must be a string or an array of strings"));
  const auto list = check_config_text(dns + "caa_identity = [\"LetsEncrypt.org\", \"pki.goog.\"]\n", "t.toml");
  REQUIRE(list.config);
  CHECK(list.config->dns.at("x").caa_identities == std::vector<std::string>{"letsencrypt.org", "pki.goog"});
}

TEST_CASE("config: resolvers are checked as --dns-resolver is: an address and a port 1-65535", "[agent][config]") {
  const auto issues = issues_of(kMinimalCa + "[dns.x]\nprovider = \"challtestsrv\"\noptions = { url = \"http://127.0.0.1:8055\" }\n"
                                             "resolvers = [\"127.0.0.1:99999\", \"ns1.example.test\", \"[::1]:53\", \"127.0.0.1\"]\n");
  REQUIRE(issues.size() == 2);
  CHECK_THAT(issues[0], Catch::Contains("\"127.0.0.1:99999\": bad port 99999"));
  // Reported once, on the resolvers line, not again by the provider built with them.
  const auto once = issues_of(kMinimalCa + "[dns.x]\nprovider = \"rfc2136\"\noptions = { server = \"127.0.0.1\", "
                                           "tsig_key_name = \"k\", tsig_secret_env = \"K\" }\nresolvers = [\"127.0.0.1:99999\"]\n");
  REQUIRE(once.size() == 1);
  CHECK(once[0].rfind("test.toml:6:", 0) == 0);
  CHECK_THAT(issues[1], Catch::Contains("\"ns1.example.test\""));
}

TEST_CASE("config: load_config reads a file and lists errors as details", "[agent][config]") {
  test::TempDir tmp;
  test::write_file(tmp / "c.toml", kMinimalCa + "typo = 1\n");
  auto r = load_config(tmp / "c.toml");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == util::Errc::invalid_input);
  CHECK(r.error().message == "config " + (tmp / "c.toml").string() + ": 1 error");
  REQUIRE(r.error().details.size() == 1);
  CHECK(r.error().details[0].rfind((tmp / "c.toml").string() + ":3:1: unknown key \"typo\"", 0) == 0);
  test::write_file(tmp / "ok.toml", kValid);
  CHECK(load_config(tmp / "ok.toml").has_value());
  auto missing = load_config(tmp / "missing.toml");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code == util::Errc::io);
}
