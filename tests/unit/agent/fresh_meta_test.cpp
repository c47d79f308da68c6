#include <catch2/catch.hpp>

#include "agent/obtain.hpp"
#include "support/test_ca.hpp"

using namespace certpilot;
using namespace certpilot::agent;
using std::chrono::hours;
using std::chrono::seconds;

namespace {

constexpr hours days(int n) { return hours(24 * n); }

// A 90-day certificate issued at `t0`, as obtain() would return it.
Obtained obtained_at(util::SysTime t0, bool ari, std::optional<AriWindow> window) {
  static const auto ca = test::TestCa::create("fresh_meta test CA");
  auto key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  REQUIRE(key.has_value());
  auto chain = crypto::CertificateChain::from_pem(ca.issue_leaf(*key, {"a.example.test"}, t0, t0 + days(90)));
  REQUIRE(chain.has_value());
  return Obtained{*key, acme::IssuedCertificate{*chain, "", "", true}, "https://ca.test/acct/1", ari, window};
}

ObtainRequest request() {
  ObtainRequest r;
  r.names = {"a.example.test"};
  r.ca.directory_url = "https://ca.test/dir";
  return r;
}

}  // namespace

TEST_CASE("fresh_meta: the window fetched after issuance sets renew_at and the next poll", "[agent][policy]") {
  const auto t0 = std::chrono::time_point_cast<seconds>(std::chrono::system_clock::now());
  const AriWindow w{t0 + days(50), t0 + days(52), seconds(120)};
  const auto meta = fresh_meta("a", request(), obtained_at(t0, true, w), t0, std::nullopt);
  REQUIRE(meta.renew_at.has_value());
  CHECK(*meta.renew_at >= w.start);
  CHECK(*meta.renew_at < w.end);
  CHECK(meta.next_check == t0 + seconds(120));  // Retry-After, not the 6-hour default
  // RFC 9773 §4.3: a Retry-After under a minute is clamped to one.
  const AriWindow eager{t0 + days(50), t0 + days(52), seconds(5)};
  CHECK(fresh_meta("a", request(), obtained_at(t0, true, eager), t0, std::nullopt).next_check == t0 + kMinAriPoll);
}

TEST_CASE("fresh_meta: ARI offered but the first request failed, or no ARI at all", "[agent][policy]") {
  const auto t0 = std::chrono::time_point_cast<seconds>(std::chrono::system_clock::now());
  const auto failed = fresh_meta("a", request(), obtained_at(t0, true, std::nullopt), t0, std::nullopt);
  CHECK(failed.next_check == t0 + kDefaultAriPoll);
  REQUIRE(failed.renew_at.has_value());
  CHECK(*failed.renew_at > t0 + days(55));  // the lifetime rule: about 2/3 of 90 days
  const auto none = fresh_meta("a", request(), obtained_at(t0, false, std::nullopt), t0, std::nullopt);
  CHECK(none.next_check == none.renew_at);
}

TEST_CASE("fresh_meta: a certificate ordered for a past window, with the CA's window past again, waits a day",
          "[agent][policy]") {
  const auto t0 = std::chrono::time_point_cast<seconds>(std::chrono::system_clock::now());
  const AriWindow past{t0 - days(2), t0 - days(1), std::nullopt};
  auto r = request();
  const auto ordinary = fresh_meta("a", r, obtained_at(t0, true, past), t0, std::nullopt);
  CHECK_FALSE(ordinary.replaced_for_past_ari_window);
  CHECK(ordinary.renew_at == t0);  // the first time, the CA's word is taken at once
  r.for_past_ari_window = true;
  const auto looped = fresh_meta("a", r, obtained_at(t0, true, past), t0, std::nullopt);
  CHECK(looped.replaced_for_past_ari_window == t0);
  CHECK(looped.renew_at == t0 + kRepeatPastAriWindowGap);
}
