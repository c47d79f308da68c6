#include <catch2/catch.hpp>

#include "util/base64url.hpp"
#include "util/redact.hpp"

using certpilot::util::base64_encode;
using certpilot::util::base64url_encode;
using certpilot::util::redact;
using certpilot::util::SecretString;

namespace {
bool leaks(const std::string& text, const std::string& secret) { return text.find(secret) != std::string::npos; }
}  // namespace

TEST_CASE("redact: every copy of the secret becomes [redacted]", "[util]") {
  const SecretString key("SuperSecret-42");
  CHECK(redact("key SuperSecret-42 and again SuperSecret-42.", key) == "key [redacted] and again [redacted].");
  CHECK(redact("SuperSecret-42", key) == "[redacted]");
  CHECK(redact("nothing here", key) == "nothing here");
  CHECK(redact("", key).empty());
}

TEST_CASE("redact: base64, base64url and JSON-escaped forms of the secret", "[util]") {
  // Chosen so that base64 and base64url differ ('+' and '/' against '-' and '_') and padding is needed.
  const std::string raw = "\xfb\xff\xbe tok/en\"xy";
  const SecretString key(raw);
  const std::string b64 = base64_encode(raw);
  const std::string b64url = base64url_encode(raw);
  REQUIRE(b64 != b64url);
  REQUIRE(b64.back() == '=');
  std::string unpadded = b64;
  while (unpadded.back() == '=') unpadded.pop_back();
  for (const std::string& form : {b64, b64url, unpadded, std::string("\xfb\xff\xbe tok/en\\\"xy"), std::string("\xfb\xff\xbe tok\\/en\\\"xy")}) {
    const std::string out = redact("before " + form + " after", key);
    CHECK(out == "before [redacted] after");
  }
}

TEST_CASE("redact: credential headers are blanked whatever their value", "[util]") {
  const SecretString none;
  const SecretString other("not-in-the-text");
  for (const auto& secret : {none, other}) {
    CHECK(redact("GET / HTTP/1.1\r\nX-API-Key: abc123\r\nHost: x\r\n", secret) ==
          "GET / HTTP/1.1\r\nX-API-Key: [redacted]\r\nHost: x\r\n");
    CHECK(redact("authorization: Bearer short\nnext", secret) == "authorization: [redacted]\nnext");
    CHECK(redact(R"({"headers": {"X-Api-Key": "k\"ey", "Host": "h"}})", secret) ==
          R"({"headers": {"X-Api-Key": "[redacted]", "Host": "h"}})");
    CHECK(redact("<td>Authorization</td> <pre>Authorization: Basic dXNlcjpwYXNz</pre>", secret) ==
          "<td>Authorization</td> <pre>Authorization: [redacted]</pre>");
    CHECK(redact("?x-api-key=abc&zone=a", secret) == "?x-api-key=[redacted]&zone=a");
    CHECK(redact("Proxy-Authorization: Basic Zm9v", secret) == "Proxy-Authorization: [redacted]");
    CHECK(redact("X-Auth-Key: 0123 X-Auth-Token: 4567", secret) == "X-Auth-Key: [redacted]");
    // A long Bearer token after any name; prose stays readable.
    CHECK(redact("sent bearer abcdefghijklmnop0123 back", secret) == "sent bearer [redacted] back");
    CHECK(redact("a Bearer token is missing", secret) == "a Bearer token is missing");
    CHECK(redact("Authorization required", secret) == "Authorization required");
    CHECK(redact("Unauthorized", secret) == "Unauthorized");
  }
}

TEST_CASE("redact: the secret is gone before a cut can leave a prefix of it", "[util]") {
  const std::string token = "cf-0123456789abcdefghijklmnopqrstuvwxyz";
  const SecretString secret(token);
  const std::string echoed = "{\"authorization\":\"Bearer " + token + "\",\"also\":\"" + token + "\"}";
  const std::string out = redact(echoed, secret);
  CHECK_FALSE(leaks(out, token));
  CHECK_FALSE(leaks(out, token.substr(0, 8)));
  CHECK(out == "{\"authorization\":\"[redacted]\",\"also\":\"[redacted]\"}");
}

TEST_CASE("secret_file_label: a path is named; a pasted secret that names no file is not quoted", "[util][redact]") {
  using certpilot::util::secret_file_label;
  // Paths, existing or not, are named so the operator can fix them.
  CHECK(secret_file_label("/etc/certpilot/tsig.key") == "/etc/certpilot/tsig.key");
  CHECK(secret_file_label("tsig.key") == "tsig.key");
  CHECK(secret_file_label("/tmp") == "/tmp");
  CHECK(secret_file_label("secrets/tsig") == "secrets/tsig");
  // A base64 TSIG secret, a base64url EAB key, an API token typed where the path belongs.
  for (const std::string pasted : {"c2VjcmV0LXRzaWcta2V5LWZvci10ZXN0cw==", "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W",
                                   "Ab1_cDe2-FgHiJ3kLmNoP"}) {
    const auto label = secret_file_label(pasted);
    CHECK(label.find(pasted) == std::string::npos);
    CHECK(label.find("looks like the secret itself") != std::string::npos);
    CHECK(label.find("chmod 0600") != std::string::npos);
  }
}
