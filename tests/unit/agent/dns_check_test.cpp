// agent/dns_check end to end against a scripted DNS server (resolver and authoritative at once)
// and an exec hook that writes the value where the server reads it: what one run reports and logs.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include "agent/dns_check.hpp"
#include "support/temp_dir.hpp"
#include "unit/dns/fake_dns_server.hpp"
#include "util/log.hpp"

using namespace certpilot;
namespace fs = std::filesystem;

namespace {

namespace rc = dns::wire::rcode;
namespace type = dns::wire::type;

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Zone a.test: NS ns1.a.test (127.0.0.1, this server) and ns.nonexistent.test (NXDOMAIN, as in
// QA's badns.test); CAA that names ca.test for one account only; the TXT value is whatever the
// hook last wrote to `txt_file`.
std::optional<dns::wire::Message> zone_answer(const dns::wire::Question& q, const fs::path& txt_file) {
  const std::string name = dns::wire::canonical_name(q.name);
  if (name == "a.test" && q.type == type::kSoa) return test::answer(q, rc::kNoError, {test::rr_soa("a.test", "ns1.a.test")});
  if (name == "a.test" && q.type == type::kNs) {
    return test::answer(q, rc::kNoError, {test::rr_ns("a.test", "ns1.a.test"), test::rr_ns("a.test", "ns.nonexistent.test")});
  }
  if (name == "a.test" && q.type == type::kCaa) {
    return test::answer(q, rc::kNoError, {test::rr_caa("a.test", "issue", "ca.test; accounturi=https://ca.test/acct/9")});
  }
  if (name == "ns1.a.test" && q.type == type::kA) return test::answer(q, rc::kNoError, {test::rr_a(name, "127.0.0.1")});
  if (name == "ns.nonexistent.test") return test::answer(q, rc::kNxDomain);
  if (name == "_acme-challenge.www.a.test" && q.type == type::kTxt && fs::exists(txt_file)) {
    return test::answer(q, rc::kNoError, {test::rr_txt(name, read_file(txt_file))});
  }
  return test::answer(q, rc::kNoError);
}

}  // namespace

TEST_CASE("dns-check: one run warns once about a nameserver without an address; CAA accounturi is not checked",
          "[agent][dns_check]") {
  test::TempDir dir;
  const fs::path txt = dir / "txt";
  const fs::path hook = dir / "hook.sh";
  {
    std::ofstream out(hook);
    out << "#!/bin/sh\ncase \"$1\" in present) printf %s \"$3\" > '" << txt.string() << "';; cleanup) rm -f '"
        << txt.string() << "';; esac\n";
  }
  fs::permissions(hook, fs::perms::owner_all);
  test::FakeDnsServer server([&](const dns::wire::Question& q) { return zone_answer(q, txt); });

  agent::DnsCheckOptions options;
  options.domains = {"www.a.test"};
  options.dns.provider = "exec";
  options.dns.options = {{"program", hook.string()}};
  options.dns.resolvers = {server.server()};
  options.dns.nameserver_port = server.port();
  options.dns.propagation_timeout = std::chrono::seconds(10);
  options.dns.propagation_interval = std::chrono::milliseconds(100);
  options.dns.caa_identities = {"ca.test"};

  std::mutex mu;
  std::vector<std::string> lines;
  util::set_log_sink([&](std::string_view line) {
    std::lock_guard lock(mu);
    lines.emplace_back(line);
  });
  auto report = agent::run_dns_check(options);
  util::set_log_sink(nullptr);
  REQUIRE(report);
  INFO((report->failure ? report->failure->message : std::string("served")));
  CHECK(report->served);
  REQUIRE(report->names.size() == 1);
  CHECK(report->names[0].cleaned_up);
  CHECK(report->names[0].servers == std::vector<std::string>{"ns1.a.test (127.0.0.1:" + std::to_string(server.port()) + ")"});

  std::size_t warnings = 0;
  for (const auto& l : lines) {
    if (l.find("nameserver has no address") != std::string::npos) {
      ++warnings;
      CHECK_THAT(l, Catch::Contains("ns.nonexistent.test") && Catch::Contains("NXDOMAIN"));
    }
  }
  CHECK(warnings == 1);

  REQUIRE(report->caa.size() == 1);
  CHECK_THAT(report->caa[0], Catch::StartsWith("www.a.test: allowed by CAA at a.test") &&
                                 Catch::Contains("accounturi=https://ca.test/acct/9 in a.test. 60 IN CAA 0 issue") &&
                                 Catch::EndsWith("was not checked (no account URL given): dns-check opens no account, "
                                                 "issue and renew check it"));
}
