// Option checks at provider creation: what `certpilot check-config` relies on, with a placeholder
// secret and no network, to catch a setting that would only fail at the first update.
#include <catch2/catch.hpp>

#include <functional>

#include "dns/cloudflare/cloudflare_provider.hpp"
#include "dns/exec/exec_provider.hpp"
#include "dns/pdns/pdns_provider.hpp"
#include "dns/provider_options.hpp"
#include "dns/rfc2136/rfc2136_provider.hpp"

using namespace certpilot;
using util::Errc;

namespace {

// What check-config passes: every secret reads as "placeholder".
const dns::SecretReader kPlaceholder = [](const dns::SecretRef&) -> util::Result<util::SecretString> {
  return util::SecretString("cGxhY2Vob2xkZXI=");
};

using Make = std::function<util::Result<dns::ProviderPtr>(const dns::ProviderOptions&)>;

struct Case {
  std::string provider;
  dns::ProviderOptions base;
  Make make;
  long long default_timeout;
};

std::vector<Case> cases() {
  return {
      {"rfc2136", {{"server", "127.0.0.1"}, {"tsig-key-name", "k"}, {"tsig-secret-file", "/k"}},
       [](const dns::ProviderOptions& o) { return dns::make_rfc2136_provider(o, kPlaceholder); }, 10},
      {"pdns", {{"api-url", "http://127.0.0.1:8081"}, {"api-key-file", "/k"}},
       [](const dns::ProviderOptions& o) { return dns::make_pdns_provider(o, kPlaceholder); }, 30},
      {"cloudflare", {{"api-token-file", "/k"}},
       [](const dns::ProviderOptions& o) { return dns::make_cloudflare_provider(o, kPlaceholder); }, 30},
  };
}

}  // namespace

TEST_CASE("provider checks: timeout must be a whole number of seconds, at least 1", "[dns]") {
  for (const auto& c : cases()) {
    INFO(c.provider);
    REQUIRE(c.make(c.base));
    for (const char* good : {"1", "45", "45s"}) {
      auto opts = c.base;
      opts["timeout"] = good;
      CHECK(c.make(opts));
    }
    const std::string hint = "; give whole seconds, at least 1, e.g. --dns-opt timeout=" +
                             std::to_string(c.default_timeout) + " (the default)";
    for (const char* zero : {"0", "0s"}) {
      auto opts = c.base;
      opts["timeout"] = zero;
      auto r = c.make(opts);
      REQUIRE_FALSE(r);
      CHECK(r.error().code == Errc::invalid_input);
      CHECK(r.error().message ==
            c.provider + ": option timeout=\"" + zero + "\" would give every request no time to answer" + hint);
    }
    for (const char* bad : {"-5", "soon", "1.5", "2m"}) {
      auto opts = c.base;
      opts["timeout"] = bad;
      auto r = c.make(opts);
      REQUIRE_FALSE(r);
      CHECK(r.error().code == Errc::invalid_input);
      CHECK(r.error().message == c.provider + ": option timeout=\"" + bad + "\" is not a number of seconds" + hint);
    }
  }
  // The exec provider takes durations ("2m") and refuses zero the same way.
  auto exec = dns::ExecProvider::create({{"program", "hook"}, {"timeout", "0"}});
  REQUIRE_FALSE(exec);
  CHECK_THAT(exec.error().message, Catch::Contains("at least 1 second"));
}

TEST_CASE("provider checks: a zero timeout given to create() directly is refused too", "[dns]") {
  dns::Rfc2136Config r;
  r.server = "127.0.0.1";
  r.key_name = "k";
  r.secret = util::SecretString("cGxhY2Vob2xkZXI=");
  r.timeout = std::chrono::seconds(0);
  CHECK_FALSE(dns::Rfc2136Provider::create(r));
  dns::PdnsConfig p;
  p.api_url = "http://127.0.0.1:8081";
  p.api_key = util::SecretString("k");
  p.timeout = std::chrono::seconds(0);
  CHECK_FALSE(dns::PdnsProvider::create(p));
  dns::CloudflareConfig cf;
  cf.api_token = util::SecretString("k");
  cf.timeout = std::chrono::seconds(0);
  CHECK_FALSE(dns::CloudflareProvider::create(cf));
}

TEST_CASE("provider checks: api-url must be an http:// or https:// URL with a host", "[dns]") {
  const auto pdns = [](const std::string& url) {
    return dns::make_pdns_provider({{"api-url", url}, {"api-key-file", "/k"}}, kPlaceholder);
  };
  const auto cloudflare = [](const std::string& url) {
    return dns::make_cloudflare_provider({{"api-url", url}, {"api-token-file", "/k"}}, kPlaceholder);
  };
  for (const char* good : {"http://127.0.0.1:8081", "https://pdns.example.test/", "HTTPS://[::1]:8081"}) {
    INFO(good);
    CHECK(pdns(good));
    CHECK(cloudflare(good));
  }
  for (const char* bad : {"ftp://127.0.0.1:8081", "127.0.0.1:8081", "http://", "https:///api", "file:///etc/passwd"}) {
    INFO(bad);
    auto p = pdns(bad);
    REQUIRE_FALSE(p);
    CHECK(p.error().code == Errc::invalid_input);
    CHECK(p.error().message == std::string("pdns: option api-url=\"") + bad +
                                   "\" is not an http:// or https:// URL with a host; e.g. --dns-opt "
                                   "api-url=http://127.0.0.1:8081");
    auto c = cloudflare(bad);
    REQUIRE_FALSE(c);
    CHECK(c.error().code == Errc::invalid_input);
    CHECK(c.error().message == std::string("cloudflare: option api-url=\"") + bad +
                                   "\" is not an http:// or https:// URL with a host; e.g. --dns-opt "
                                   "api-url=https://api.cloudflare.com/client/v4");
  }
  // Credentials in a URL are not quoted back.
  auto creds = pdns("ftp://admin:hunter2@pdns.example.test/");
  REQUIRE_FALSE(creds);
  CHECK(creds.error().message.find("hunter2") == std::string::npos);
  CHECK_THAT(creds.error().message, Catch::Contains("\"ftp://pdns.example.test/\""));
  auto missing = dns::make_pdns_provider({{"api-key-file", "/k"}}, kPlaceholder);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message == "pdns: api-url is required; e.g. --dns-opt api-url=http://127.0.0.1:8081");
}
