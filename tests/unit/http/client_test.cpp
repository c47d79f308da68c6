// http/client against a tiny HTTP/1.1 server on 127.0.0.1 run in a thread of the test.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "http/client.hpp"
#include "support/loopback_http.hpp"
#include "support/temp_dir.hpp"
#include "support/test_ca.hpp"
#include "util/cancel.hpp"
#include "util/strings.hpp"

using namespace certpilot;
using util::Errc;
using test::canned;
using test::LoopbackHttp;
using test::SeenRequest;

namespace {

std::unique_ptr<http::HttpClient> client(http::HttpOptions options = {}) {
  auto c = http::HttpClient::create(std::move(options));
  REQUIRE(c);
  return std::move(*c);
}

std::string first(const std::multimap<std::string, std::string>& m, const std::string& key) {
  const auto it = m.find(key);
  return it == m.end() ? std::string("<missing>") : it->second;
}

}  // namespace

TEST_CASE("GET: status, body and lower-cased, trimmed headers", "[http]") {
  LoopbackHttp server([](const SeenRequest&) {
    return canned("200 OK",
                  {"Content-Type: application/json", "Replay-Nonce:   nonce-abc  ", "LINK: <https://ca.test/dir>;rel=\"index\"",
                   "Link: <https://ca.test/alt>;rel=\"alternate\"", "Retry-After: 30", "Location: https://ca.test/acct/1"},
                  "{\"ok\":true}");
  });
  auto c = client();
  auto r = c->get(server.url("/directory"), {{"Accept", "application/json"}});
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->url == server.url("/directory"));
  CHECK(r->body == "{\"ok\":true}");
  CHECK(r->header("replay-nonce") == std::optional<std::string>("nonce-abc"));
  CHECK(r->header("location") == std::optional<std::string>("https://ca.test/acct/1"));
  CHECK(r->header("content-type") == std::optional<std::string>("application/json"));
  CHECK_FALSE(r->header("Replay-Nonce"));  // lookups are by the lower-case name
  CHECK(r->links("index") == std::vector<std::string>{"https://ca.test/dir"});
  CHECK(r->links("alternate") == std::vector<std::string>{"https://ca.test/alt"});
  CHECK(r->retry_after(util::SysTime{}) == std::chrono::seconds(30));

  const auto reqs = server.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].method == "GET");
  CHECK(reqs[0].target == "/directory");
  CHECK(first(reqs[0].headers, "accept") == "application/json");
  CHECK_THAT(first(reqs[0].headers, "user-agent"), Catch::StartsWith("certpilot/"));
}

TEST_CASE("POST sends the body, Content-Type and no Expect: 100-continue", "[http]") {
  LoopbackHttp server([](const SeenRequest&) {
    return canned("201 Created", {"Content-Type: application/problem+json"}, "{}");
  });
  http::HttpOptions opts;
  opts.user_agent = "certpilot/test-ua";
  auto c = client(opts);
  const std::string payload(5000, 'p');  // large enough that curl would otherwise send Expect
  auto r = c->post(server.url("/new-order"), payload, "application/jose+json");
  REQUIRE(r);
  CHECK(r->status == 201);
  const auto reqs = server.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].method == "POST");
  CHECK(reqs[0].body == payload);
  CHECK(first(reqs[0].headers, "content-type") == "application/jose+json");
  CHECK(first(reqs[0].headers, "user-agent") == "certpilot/test-ua");
  CHECK(reqs[0].headers.count("expect") == 0);
}

TEST_CASE("HEAD and error statuses are responses, not errors", "[http]") {
  LoopbackHttp server([](const SeenRequest& req) {
    if (req.method == "HEAD") return std::optional<std::string>(canned("200 OK", {"Replay-Nonce: n1"}, ""));
    return std::optional<std::string>(canned("503 Service Unavailable", {"Retry-After: 120"}, "busy"));
  });
  auto c = client();
  auto head = c->send({"HEAD", server.url("/new-nonce"), {}, {}});
  REQUIRE(head);
  CHECK(head->status == 200);
  CHECK(head->header("replay-nonce") == std::optional<std::string>("n1"));
  auto busy = c->get(server.url("/busy"));
  REQUIRE(busy);
  CHECK(busy->status == 503);
  CHECK(busy->body == "busy");
  CHECK(busy->retry_after(util::SysTime{}) == std::chrono::seconds(120));
}

TEST_CASE("after 100 Continue only the final response's headers are kept", "[http]") {
  LoopbackHttp server([](const SeenRequest&) {
    return "HTTP/1.1 100 Continue\r\nX-Interim: yes\r\n\r\n" + canned("200 OK", {"X-Final: yes"}, "done");
  });
  auto c = client();
  auto r = c->get(server.url("/"));
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == "done");
  CHECK(r->header("x-final") == std::optional<std::string>("yes"));
  CHECK_FALSE(r->header("x-interim"));
}

TEST_CASE("a connection closed without an answer is retried", "[http]") {
  std::atomic<int> calls{0};
  LoopbackHttp server([&](const SeenRequest&) -> std::optional<std::string> {
    if (calls++ == 0) return std::string();  // hang up: curl sees "empty reply"
    return canned("200 OK", {}, "second time");
  });
  http::HttpOptions opts;
  opts.transport_retries = 1;
  auto c = client(opts);
  auto r = c->get(server.url("/flaky"));
  REQUIRE(r);
  CHECK(r->body == "second time");
  CHECK(server.requests().size() == 2);
}

TEST_CASE("a POST that may have reached the server is never sent twice", "[http]") {
  std::atomic<int> calls{0};
  LoopbackHttp server([&](const SeenRequest&) -> std::optional<std::string> {
    ++calls;
    return std::string();  // read the request, then hang up without answering
  });
  http::HttpOptions opts;
  opts.transport_retries = 2;
  auto c = client(opts);
  auto r = c->post(server.url("/new-order"), "{}", "application/jose+json");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == util::Errc::network);
  CHECK(server.requests().size() == 1);
}

TEST_CASE("connection refused is Errc::network naming the URL", "[http]") {
  // A port that was free a moment ago and has no listener now.
  const std::string url = "http://127.0.0.1:" + std::to_string(test::unused_loopback_port()) + "/directory";

  http::HttpOptions opts;
  opts.transport_retries = 0;
  auto c = client(opts);
  auto r = c->get(url);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::network);
  CHECK_THAT(r.error().message, Catch::StartsWith("GET: " + url + ": cannot connect"));
}

TEST_CASE("a server that never answers gives Errc::timeout", "[http]") {
  LoopbackHttp server([](const SeenRequest&) { return std::optional<std::string>(); });
  http::HttpOptions opts;
  opts.request_timeout = std::chrono::seconds(1);
  auto c = client(opts);
  auto r = c->get(server.url("/slow"));
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::timeout);
  CHECK_THAT(r.error().message, Catch::Contains(server.url("/slow")) && Catch::Contains("timed out"));
}

TEST_CASE("Ctrl-C ends a request to a server that never answers, as Errc::cancelled; a CancelShield does not",
          "[http]") {
  LoopbackHttp server([](const SeenRequest&) { return std::optional<std::string>(); });
  http::HttpOptions opts;
  opts.request_timeout = std::chrono::seconds(30);
  auto c = client(opts);
  util::reset_cancel();
  std::thread interrupter([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    util::request_cancel();
  });
  const auto start = std::chrono::steady_clock::now();
  auto r = c->get(server.url("/hang"));
  interrupter.join();
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::cancelled);
  CHECK(r.error().message == "GET " + server.url("/hang") + ": interrupted");
  // Not the 30 s request timeout: curl asks about once a second while nothing moves.
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
  {
    // Clean-up after Ctrl-C (removing TXT records) must still reach its server.
    util::CancelShield shield;
    LoopbackHttp ok([](const SeenRequest&) { return canned("200 OK", {}, "done"); });
    auto cleaned = c->get(ok.url("/cleanup"));
    REQUIRE(cleaned);
    CHECK(cleaned->body == "done");
  }
  util::reset_cancel();
}

TEST_CASE("a URL that is not http(s) is invalid_input", "[http]") {
  auto c = client();
  auto r = c->get("ftp://127.0.0.1/file");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::invalid_input);
  CHECK_THAT(r.error().message, Catch::Contains("ftp://127.0.0.1/file") && Catch::Contains("not a valid http(s) URL"));
}

TEST_CASE("a CA bundle that is not a PEM certificate bundle is refused before any connection", "[http]") {
  test::TempDir tmp;
  test::write_file(tmp / "passwd", "root:x:0:0:root:/root:/bin/bash\n");
  test::write_file(tmp / "roots.pem", test::TestCa::create("Bundle Test Root").cert_pem());
  LoopbackHttp server([](const SeenRequest&) { return canned("200 OK", {}, "{}"); });

  http::HttpOptions opts;
  opts.ca_bundle = (tmp / "passwd").string();
  auto c = http::HttpClient::create(opts);
  REQUIRE_FALSE(c);
  CHECK(c.error().code == Errc::invalid_input);
  CHECK(c.error().message == "CA bundle " + opts.ca_bundle +
                                 " is not a PEM certificate bundle (no -----BEGIN CERTIFICATE----- line); give the PEM "
                                 "file of the root(s) that signed the server's HTTPS certificate");
  CHECK(server.requests().empty());

  const auto folder = http::check_ca_bundle(tmp.path().string());
  REQUIRE_FALSE(folder);
  CHECK(folder.error().code == Errc::invalid_input);
  CHECK_THAT(folder.error().message, Catch::Contains(" is not a file"));

  const auto missing = http::check_ca_bundle((tmp / "missing.pem").string());
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == Errc::io);
  CHECK_THAT(missing.error().message, Catch::Contains("missing.pem: cannot read"));

  CHECK(http::check_ca_bundle((tmp / "roots.pem").string()));
  opts.ca_bundle = (tmp / "roots.pem").string();
  CHECK(http::HttpClient::create(opts));
}
