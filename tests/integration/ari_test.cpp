// ACME Renewal Information (RFC 9773) end to end: `certpilot run` and `certpilot renew` against
// Pebble behind an AriProxy (tests/support/ari_proxy.hpp), which adds the renewalInfo endpoint
// Debian's Pebble 2.4 lacks, answers the windows each case sets, and records every renewal-info
// request and every newOrder's `replaces`.
//
// Assertions are on outcomes: new serials, chains verifying against Pebble's root, the exact
// `replaces` value (computed here from the old leaf with OpenSSL alone), and the times stored in
// meta.json. Waits are bounded polls; nothing asserts on how long something took.
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>

#include "store/meta.hpp"
#include "support/ari_proxy.hpp"
#include "support/daemon_helpers.hpp"
#include "support/issue_helpers.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "util/time.hpp"

using namespace certpilot::test;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using certpilot::util::SysTime;

namespace {

std::string base64url(const unsigned char* data, int len) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  int bits = 0;
  unsigned acc = 0;
  for (int i = 0; i < len; ++i) {
    acc = (acc << 8) | data[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(acc >> bits) & 0x3f];
    }
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 0x3f];
  return out;  // no padding (RFC 9773 §4.1)
}

// RFC 9773 §4.1, straight from OpenSSL (independent of certpilot's own code):
// base64url(AKI keyIdentifier) "." base64url(DER content bytes of the serial INTEGER).
std::string ari_id_of_pem(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  REQUIRE(bio);
  std::unique_ptr<X509, decltype(&X509_free)> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), X509_free);
  REQUIRE(cert);
  std::unique_ptr<AUTHORITY_KEYID, decltype(&AUTHORITY_KEYID_free)> aki(
      static_cast<AUTHORITY_KEYID*>(X509_get_ext_d2i(cert.get(), NID_authority_key_identifier, nullptr, nullptr)),
      AUTHORITY_KEYID_free);
  REQUIRE(aki);
  REQUIRE(aki->keyid);
  unsigned char* der = nullptr;
  const int der_len = i2d_ASN1_INTEGER(X509_get0_serialNumber(cert.get()), &der);
  REQUIRE(der_len > 2);
  // A short-form length: Pebble's serials are well under 128 bytes.
  REQUIRE(der[0] == 0x02);
  REQUIRE(der[1] < 0x80);
  const std::string id = base64url(aki->keyid->data, aki->keyid->length) + "." + base64url(der + 2, der[1]);
  OPENSSL_free(der);
  return id;
}

std::string ari_id_of(const fs::path& store, const std::string& name) {
  return ari_id_of_pem(read_file(store / "certificates" / name / "cert.pem"));
}

certpilot::store::CertificateMeta meta_of(const fs::path& store, const std::string& name) {
  auto m = certpilot::store::meta_from_json(read_file(store / "certificates" / name / "meta.json"));
  REQUIRE(m.has_value());
  return *m;
}

int count(const std::vector<std::string>& v, const std::string& x) {
  return static_cast<int>(std::count(v.begin(), v.end(), x));
}

// newOrders for `domain`, in order.
std::vector<SeenNewOrder> orders_for(const AriProxy& proxy, const std::string& domain) {
  std::vector<SeenNewOrder> out;
  for (const auto& o : proxy.new_orders()) {
    if (o.identifiers == std::vector<std::string>{domain}) out.push_back(o);
  }
  return out;
}

CommandResult renew_once(const fs::path& config) {
  return run_command({certpilot_binary().string(), "renew", "--config", config.string()}, {}, 180s);
}


struct Setup {
  std::unique_ptr<PebbleFixture> pebble = PebbleFixture::start(PebbleOptions::deterministic());
  std::unique_ptr<AriProxy> proxy = AriProxy::start(*pebble);
  TempDir tmp;
  DaemonConfigOptions options;
  fs::path config = tmp / "config.toml";

  explicit Setup(std::vector<CertEntry> certs) {
    options.store = tmp / "store";
    options.directory_url = proxy->directory_url();
    options.certs = std::move(certs);
  }
  void write() { write_daemon_config(config, *pebble, options); }
  // First issuance of every certificate with one `certpilot renew`.
  std::map<std::string, std::string> issue_all() {
    write();
    const auto r = renew_once(config);
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    auto s = serials(config);
    REQUIRE(all_issued(s, names_of(options.certs)));
    return s;
  }
};

}  // namespace

TEST_CASE("ari: the daemon renews when the window passes, sending replaces with the old ARI id",
          "[integration][ari]") {
  Setup s(numbered_certs(3, "ari.test"));
  // Every new certificate: a window a month away, polled again after a minute.
  const auto fresh = window_from_now(24h * 30, 24h * 31, 60s);
  s.proxy->set_default_answer(fresh);
  // renew_before alone would renew only a day before expiry (Pebble issues for years).
  s.options.renew_before_seconds = std::chrono::seconds(24h).count();
  s.write();
  const auto names = names_of(s.options.certs);
  DaemonProcess daemon(s.config, s.tmp / "daemon.log");

  std::map<std::string, std::string> first;
  REQUIRE(wait_until([&] { return all_issued(first = serials(s.config), names); }, 120s));
  std::map<std::string, std::string> old_ids;
  for (const auto& c : s.options.certs) {
    INFO("certificate " << c.name);
    check_issued(*s.pebble, s.options.store / "certificates" / c.name, c.domains);
    const auto meta = meta_of(s.options.store, c.name);
    old_ids[c.name] = ari_id_of(s.options.store, c.name);
    CHECK(meta.ari_cert_id == old_ids[c.name]);
    // RFC 9773 §4.3: the window was fetched right after issuance; the renewal time lies inside it
    // and the next check is the Retry-After (60 s) after issuance.
    CHECK(count(s.proxy->renewal_info_requests(), old_ids[c.name]) >= 1);
    REQUIRE(meta.renew_at.has_value());
    REQUIRE(meta.issued_at.has_value());
    REQUIRE(meta.next_check.has_value());
    CHECK(*meta.renew_at >= fresh.window_start);
    CHECK(*meta.renew_at < fresh.window_end);
    CHECK(*meta.next_check - *meta.issued_at == 60s);
  }
  // No order carried `replaces` so far: these were first issuances.
  for (const auto& o : s.proxy->new_orders()) CHECK_FALSE(o.replaces.has_value());

  // The CA moves the window of the current certificates into the past (a revocation coming).
  for (const auto& [name, id] : old_ids) s.proxy->set_answer(id, window_from_now(-48h, -24h, 60s));
  std::map<std::string, std::string> second;
  const bool renewed = wait_until([&] { return all_issued(second = serials(s.config), names, first); }, 240s);
  INFO(daemon.log_text());
  REQUIRE(renewed);
  stop_cleanly(daemon);

  for (const auto& c : s.options.certs) {
    INFO("certificate " << c.name);
    const auto now = check_issued(*s.pebble, s.options.store / "certificates" / c.name, c.domains);
    CHECK(now != first[c.name]);
    CHECK(fs::exists(s.options.store / "certificates" / c.name / "archive" / first[c.name]));
    // Exactly one renewal order, and it named the certificate it replaces (RFC 9773 §5).
    std::vector<std::string> replaced;
    for (const auto& o : orders_for(*s.proxy, c.domains[0])) {
      if (o.replaces) replaced.push_back(*o.replaces);
    }
    CHECK(replaced == std::vector<std::string>{old_ids[c.name]});
    // The new certificate has its own id and its own (future) window: no second renewal.
    const auto meta = meta_of(s.options.store, c.name);
    CHECK(meta.ari_cert_id == ari_id_of(s.options.store, c.name));
    CHECK(meta.ari_cert_id != old_ids[c.name]);
    REQUIRE(meta.renew_at.has_value());
    CHECK(*meta.renew_at > std::chrono::system_clock::now() + 24h * 29);
  }
}

TEST_CASE("ari: a window in the future renews nothing; the next check honours a clamped Retry-After",
          "[integration][ari]") {
  Setup s(numbered_certs(2, "future.ari.test"));
  const auto first = s.issue_all();
  const std::string name = s.options.certs[0].name;
  const std::string id = ari_id_of(s.options.store, name);

  // Retry-After: 1 second is clamped to one minute (RFC 9773 §4.3).
  s.proxy->clear_records();
  auto window = window_from_now(24h * 10, 24h * 11, 1s);
  s.proxy->set_default_answer(window);
  auto before = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  auto r = renew_once(s.config);
  auto after = std::chrono::system_clock::now();
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(serials(s.config) == first);
  CHECK(count(s.proxy->renewal_info_requests(), id) == 1);
  CHECK(s.proxy->new_orders().empty());
  auto meta = meta_of(s.options.store, name);
  REQUIRE(meta.renew_at.has_value());
  REQUIRE(meta.next_check.has_value());
  CHECK(*meta.renew_at >= window.window_start);
  CHECK(*meta.renew_at < window.window_end);
  CHECK(*meta.next_check >= before + 60s);
  CHECK(*meta.next_check <= after + 60s);
  // `certpilot status` shows the same times.
  for (const auto& row : status_json(s.config)) {
    if (row.value("name", "") != name) continue;
    CHECK(row.value("renew_at", "") == certpilot::util::format_rfc3339(*meta.renew_at));
    CHECK(row.value("next_check", "") == certpilot::util::format_rfc3339(*meta.next_check));
  }

  // Retry-After of three days is clamped to one; the renewal time chosen earlier is kept.
  const auto chosen = *meta.renew_at;
  window.retry_after = 72h;
  window.explanation_url = "https://ca.example.test/ari-explained";
  s.proxy->set_default_answer(window);
  before = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  r = renew_once(s.config);
  after = std::chrono::system_clock::now();
  REQUIRE(r.exit_code == 0);
  CHECK(serials(s.config) == first);
  meta = meta_of(s.options.store, name);
  REQUIRE(meta.next_check.has_value());
  CHECK(*meta.next_check >= before + 24h);
  CHECK(*meta.next_check <= after + 24h);
  CHECK(meta.renew_at == chosen);
}

TEST_CASE("ari: a 409 alreadyReplaced makes the agent order again without replaces", "[integration][ari]") {
  Setup s(numbered_certs(1, "replaced.ari.test"));
  const auto first = s.issue_all();
  const auto& cert = s.options.certs[0];
  const std::string id = ari_id_of(s.options.store, cert.name);
  s.proxy->clear_records();
  s.proxy->set_answer(id, window_from_now(-48h, -24h));
  s.proxy->reject_next_replaces();

  const auto r = renew_once(s.config);
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  const auto now = check_issued(*s.pebble, s.options.store / "certificates" / cert.name, cert.domains);
  CHECK(now != first.at(cert.name));
  const auto orders = orders_for(*s.proxy, cert.domains[0]);
  REQUIRE(orders.size() == 2);
  CHECK(orders[0].replaces == std::optional<std::string>(id));
  CHECK(orders[0].rejected);
  CHECK_FALSE(orders[1].replaces.has_value());
  CHECK_FALSE(orders[1].rejected);
}

TEST_CASE("ari: certpilot renew renews a certificate whose window passed and leaves one in the future",
          "[integration][ari]") {
  Setup s({CertEntry("due", {"due.ari.test"}), CertEntry("later", {"later.ari.test"})});
  const auto first = s.issue_all();
  const std::string due_id = ari_id_of(s.options.store, "due");
  const std::string later_id = ari_id_of(s.options.store, "later");
  s.proxy->clear_records();
  s.proxy->set_answer(due_id, window_from_now(-2h, -1h));
  s.proxy->set_answer(later_id, window_from_now(24h * 20, 24h * 21));

  const auto r = renew_once(s.config);
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  const auto now = serials(s.config);
  CHECK(now.at("due") != first.at("due"));
  CHECK(now.at("later") == first.at("later"));
  CHECK(check_issued(*s.pebble, s.options.store / "certificates" / "due", {"due.ari.test"}) == now.at("due"));
  CHECK(count(s.proxy->renewal_info_requests(), due_id) == 1);
  CHECK(count(s.proxy->renewal_info_requests(), later_id) == 1);
  const auto orders = s.proxy->new_orders();
  REQUIRE(orders.size() == 1);
  CHECK(orders[0].identifiers == std::vector<std::string>{"due.ari.test"});
  CHECK(orders[0].replaces == std::optional<std::string>(due_id));
}

TEST_CASE("ari: a CA that answers a past window for every new certificate gets one renewal a day, not a loop",
          "[integration][ari]") {
  Setup s({CertEntry("loop", {"loop.ari.test"})});
  s.proxy->set_default_answer(window_from_now(-48h, -24h));
  const auto first = s.issue_all();  // a first issuance: replaced nothing
  CHECK_FALSE(meta_of(s.options.store, "loop").replaced_for_past_ari_window);

  // The CA says "renew now": taken at once, the first time.
  const auto r1 = renew_once(s.config);
  INFO(r1.out << r1.err);
  REQUIRE(r1.exit_code == 0);
  const auto second = serials(s.config);
  REQUIRE(second.at("loop") != first.at("loop"));
  const auto meta = meta_of(s.options.store, "loop");
  REQUIRE(meta.replaced_for_past_ari_window.has_value());
  REQUIRE(meta.renew_at.has_value());
  CHECK(*meta.renew_at - *meta.replaced_for_past_ari_window == 24h);

  // It says so again for the certificate it just issued: not again for a day.
  const auto r2 = renew_once(s.config);
  INFO(r2.out << r2.err);
  REQUIRE(r2.exit_code == 0);
  CHECK(serials(s.config).at("loop") == second.at("loop"));
  CHECK(orders_for(*s.proxy, "loop.ari.test").size() == 2);
}

TEST_CASE("ari: a failing renewalInfo endpoint falls back to the lifetime rule and is logged",
          "[integration][ari]") {
  Setup s({CertEntry("e500", {"e500.ari.test"}), CertEntry("garbage", {"garbage.ari.test"}),
           CertEntry("empty", {"empty.ari.test"})});
  const auto first = s.issue_all();
  std::map<std::string, std::string> ids;
  for (const auto& c : s.options.certs) ids[c.name] = ari_id_of(s.options.store, c.name);

  certpilot::test::RenewalInfoAnswer internal;
  internal.status = 500;
  internal.raw_body = R"({"type":"urn:ietf:params:acme:error:serverInternal","detail":"ari down","status":500})";
  s.proxy->set_answer(ids["e500"], internal);
  certpilot::test::RenewalInfoAnswer garbage;
  garbage.raw_body = "{\"suggestedWindow\": not json";
  s.proxy->set_answer(ids["garbage"], garbage);
  // RFC 9773 §4.2: a window that does not end after it starts counts as no answer at all.
  auto empty = window_from_now(24h * 20, 24h * 20);
  s.proxy->set_answer(ids["empty"], empty);

  // Without an answer from ARI, renew_before decides: due one second after not_before. The three
  // certificates may have been issued within the same second: wait (bounded) until all are due.
  std::optional<std::chrono::seconds> lifetime;
  SysTime latest_start{};
  for (const auto& c : s.options.certs) {
    const auto meta = meta_of(s.options.store, c.name);
    REQUIRE(meta.not_before.has_value());
    REQUIRE(meta.not_after.has_value());
    lifetime = std::chrono::duration_cast<std::chrono::seconds>(*meta.not_after - *meta.not_before);
    latest_start = std::max(latest_start, *meta.not_before);
  }
  REQUIRE(*lifetime > 10s);
  s.options.renew_before_seconds = (*lifetime - 1s).count();
  REQUIRE(wait_until([&] { return std::chrono::system_clock::now() > latest_start + 2s; }, 30s));
  s.write();
  s.proxy->clear_records();
  const auto r = renew_once(s.config);
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  const auto now = serials(s.config);
  for (const auto& c : s.options.certs) {
    INFO("certificate " << c.name);
    CHECK(now.at(c.name) != first.at(c.name));
    CHECK(check_issued(*s.pebble, s.options.store / "certificates" / c.name, c.domains) == now.at(c.name));
    CHECK(count(s.proxy->renewal_info_requests(), ids[c.name]) == 1);
    // The CA still offers ARI, so the renewal names the certificate it replaces.
    const auto orders = orders_for(*s.proxy, c.domains[0]);
    REQUIRE(orders.size() == 1);
    CHECK(orders[0].replaces == std::optional<std::string>(ids[c.name]));
  }
  // Logging is the behaviour under test here: one warning per certificate whose ARI failed.
  CHECK(count_of(r.err, "renewal info unavailable; using the lifetime rule") == 3);
  CHECK(count_of(r.err, "HTTP 500") + count_of(r.err, "ari down") >= 1);
}
