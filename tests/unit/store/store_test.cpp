#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "store/store.hpp"
#include "support/file_size_limit.hpp"
#include "support/temp_dir.hpp"
#include "support/test_ca.hpp"
#include "util/scope_exit.hpp"
#include "util/time.hpp"

using namespace certpilot;
using namespace certpilot::store;
namespace fs = std::filesystem;

namespace {

struct Material {
  crypto::PrivateKey key;
  crypto::CertificateChain chain;
};

const test::TestCa& ca() {
  static const test::TestCa root = test::TestCa::create("Store Test Root");
  return root;
}

Material make_material(const std::vector<std::string>& names) {
  auto key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256).value();
  auto chain = crypto::CertificateChain::from_pem(ca().issue_leaf(key, names)).value();
  return {std::move(key), std::move(chain)};
}

CertificateMeta meta_for(const std::vector<std::string>& names) {
  CertificateMeta m;
  m.domains = names;
  m.ca_directory = "https://localhost:14000/dir";
  return m;
}

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

util::Unexpected crash(std::string_view step) {
  return util::fail(util::Errc::internal, "simulated crash at " + std::string(step));
}

}  // namespace

TEST_CASE("store: an existing storage folder keeps its mode; what certpilot creates in it is 0700", "[store]") {
  test::TempDir tmp;
  fs::create_directories(tmp / "home");
  ::chmod((tmp / "home").c_str(), 0755);  // e.g. --state ~ : the operator's folder, not ours to chmod
  REQUIRE(Store::open({tmp / "home", 5, {}}).has_value());
  CHECK(mode_of(tmp / "home") == 0755);
  for (const char* sub : {"certificates", "accounts", "locks"}) CHECK(mode_of(tmp / "home" / sub) == 0700);
}

TEST_CASE("store: open creates the layout with 0700 folders", "[store]") {
  test::TempDir tmp;
  auto store = Store::open({tmp / "state", 5, {}});
  REQUIRE(store.has_value());
  for (const char* sub : {"", "certificates", "accounts", "locks"}) {
    CHECK(mode_of(tmp / "state" / sub) == 0700);
  }
  CHECK(store->list_certificates().value().empty());
  CHECK_FALSE(store->load_certificate("www").value().has_value());
  CHECK_FALSE(store->read_meta("www").value().has_value());
}

TEST_CASE("store: save and load a certificate", "[store]") {
  test::TempDir tmp;
  auto store = Store::open({tmp.path(), 5, {}}).value();
  const auto m = make_material({"www.example.test", "example.test"});
  auto lock = store.lock("www", LockWait::no_wait).value();
  auto meta = meta_for({"example.test", "WWW.example.test"});
  meta.ari_cert_id = "abc.def";
  REQUIRE(store.save_certificate(lock, m.key, m.chain, meta).has_value());

  const fs::path dir = tmp / "certificates/www";
  CHECK(fs::is_symlink(dir));
  CHECK(mode_of(dir / "key.pem") == 0600);
  CHECK(mode_of(dir / "meta.json") == 0600);  // last_error quotes servers: not for other users
  CHECK(mode_of(fs::canonical(dir)) == 0700);
  CHECK(test::read_file(dir / "fullchain.pem") == m.chain.full_pem());
  CHECK(test::read_file(dir / "cert.pem") == m.chain.leaf_pem());

  auto loaded = store.load_certificate("www").value();
  REQUIRE(loaded.has_value());
  CHECK(loaded->chain.leaf().serial_hex() == m.chain.leaf().serial_hex());
  CHECK(loaded->key.public_der() == m.key.public_der());
  CHECK(loaded->meta.serial == m.chain.leaf().serial_hex());
  CHECK(loaded->meta.key_type == "ec256");
  CHECK(loaded->meta.ari_cert_id == "abc.def");
  CHECK(loaded->meta.not_after.has_value());
  CHECK(store.list_certificates().value() == std::vector<std::string>{"www"});
}

TEST_CASE("store: refuses material whose key or names do not match", "[store]") {
  test::TempDir tmp;
  auto store = Store::open({tmp.path(), 5, {}}).value();
  const auto m = make_material({"a.example.test"});
  const auto other = make_material({"a.example.test"});
  auto lock = store.lock("a", LockWait::no_wait).value();
  auto r = store.save_certificate(lock, other.key, m.chain, meta_for({"a.example.test"}));
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message.find("does not belong") != std::string::npos);
  r = store.save_certificate(lock, m.key, m.chain, meta_for({"a.example.test", "b.example.test"}));
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message.find("the certificate names [a.example.test] but [a.example.test, b.example.test]") !=
        std::string::npos);
  CHECK_FALSE(fs::exists(tmp / "certificates/a"));
}

TEST_CASE("store: a renewal archives the previous version, bounded by archive_keep", "[store]") {
  test::TempDir tmp;
  auto store = Store::open({tmp.path(), 2, {}}).value();
  auto lock = store.lock("site", LockWait::no_wait).value();
  std::vector<std::string> serials;
  for (int i = 0; i < 4; ++i) {
    const auto m = make_material({"site.example.test"});
    REQUIRE(store.save_certificate(lock, m.key, m.chain, meta_for({"site.example.test"})).has_value());
    serials.push_back(m.chain.leaf().serial_hex());
  }
  CHECK(store.load_certificate("site").value()->meta.serial == serials[3]);
  CHECK(store.list_archive("site").value() == std::vector<std::string>{serials[2], serials[1]});
  // The documented path certificates/<name>/archive/<serial>/ resolves.
  CHECK(fs::exists(tmp / "certificates/site/archive" / serials[2] / "cert.pem"));
  CHECK(test::read_file(tmp / "certificates/site/archive" / serials[2] / "key.pem").find("PRIVATE KEY") !=
        std::string::npos);
}

TEST_CASE("store: meta updates persist, before and after the first issuance", "[store]") {
  test::TempDir tmp;
  auto store = Store::open({tmp.path(), 5, {}}).value();
  auto lock = store.lock("new", LockWait::no_wait).value();
  CertificateMeta state = meta_for({"new.example.test"});
  state.failure_count = 2;
  state.last_error = "acme: order failed";
  state.recent_failures = {SysTime(std::chrono::seconds(1'750'000'000))};
  state.retry_after_seconds = 120;
  REQUIRE(store.write_meta(lock, state).has_value());
  auto read = store.read_meta("new").value();
  REQUIRE(read.has_value());
  CHECK(read->failure_count == 2);
  CHECK(read->last_error == "acme: order failed");
  CHECK(read->recent_failures == state.recent_failures);
  CHECK(read->retry_after_seconds == 120);

  const auto m = make_material({"new.example.test"});
  REQUIRE(store.save_certificate(lock, m.key, m.chain, meta_for({"new.example.test"})).has_value());
  read = store.read_meta("new").value();
  CHECK(read->failure_count == 0);
  read->next_check = SysTime(std::chrono::seconds(1'760'000'000));
  REQUIRE(store.write_meta(lock, *read).has_value());
  CHECK(store.read_meta("new").value()->next_check == read->next_check);
  CHECK(store.read_meta("new").value()->serial == m.chain.leaf().serial_hex());
}

TEST_CASE("store: meta.json and state.json are written 0600 whatever the umask", "[store]") {
  test::TempDir tmp;
  auto store = Store::open({tmp.path(), 5, {}}).value();
  auto lock = store.lock("m", LockWait::no_wait).value();
  const mode_t old_umask = ::umask(0);  // a permissive umask must not widen them
  util::ScopeExit restore_umask([old_umask] { ::umask(old_umask); });
  CertificateMeta state = meta_for({"m.example.test"});
  state.last_error = "dns: the provider failed";
  REQUIRE(store.write_meta(lock, state).has_value());
  CHECK(mode_of(tmp / "certificates/.m.versions/state.json") == 0600);
  const auto m = make_material({"m.example.test"});
  REQUIRE(store.save_certificate(lock, m.key, m.chain, meta_for({"m.example.test"})).has_value());
  CHECK(mode_of(tmp / "certificates/m/meta.json") == 0600);
  REQUIRE(store.write_meta(lock, state).has_value());
  CHECK(mode_of(tmp / "certificates/m/meta.json") == 0600);
  CHECK(store.read_meta("m").value()->last_error == "dns: the provider failed");
}

TEST_CASE("store: meta.json round trip and negative cases", "[store]") {
  CertificateMeta m;
  m.name = "x";
  m.domains = {"a.test"};
  m.issued_at = SysTime(std::chrono::seconds(1'750'000'000));
  m.replaced_for_past_ari_window = SysTime(std::chrono::seconds(1'750'000'060));
  auto back = meta_from_json(meta_to_json(m)).value();
  CHECK(back.issued_at == m.issued_at);
  CHECK(back.replaced_for_past_ari_window == m.replaced_for_past_ari_window);
  CHECK(util::format_rfc3339(*m.issued_at) == "2025-06-15T15:06:40Z");
  CHECK_FALSE(meta_from_json("{").has_value());
  CHECK_FALSE(meta_from_json("[]").has_value());
  CHECK(meta_from_json(R"({"issued_at": "yesterday"})").error().message ==
        "meta.json: \"issued_at\" is not an RFC 3339 time");
  CHECK_FALSE(meta_from_json(R"({"failure_count": "2"})").has_value());
  CHECK_FALSE(meta_from_json(R"({"domains": "a.test"})").has_value());
}

TEST_CASE("store: a second lock on one name conflicts until the first is released", "[store]") {
  test::TempDir tmp;
  auto store = Store::open({tmp.path(), 5, {}}).value();
  {
    auto first = store.lock("www", LockWait::no_wait);
    REQUIRE(first.has_value());
    auto second = store.lock("www", LockWait::no_wait);
    REQUIRE_FALSE(second.has_value());
    CHECK(second.error().code == util::Errc::conflict);
    CHECK(second.error().message.find("another certpilot process (pid " + std::to_string(::getpid()) + ")") !=
          std::string::npos);
    CHECK(store.lock("other", LockWait::no_wait).has_value());
  }
  CHECK(store.lock("www", LockWait::no_wait).has_value());
  // A waiting locker gets it once the holder lets go.
  auto held = std::make_unique<CertLock>(store.lock("www", LockWait::no_wait).value());
  std::thread releaser([&] { held.reset(); });
  CHECK(store.lock("www", LockWait::wait).has_value());
  releaser.join();
}

TEST_CASE("store: bad certificate names are refused", "[store]") {
  test::TempDir tmp;
  auto store = Store::open({tmp.path(), 5, {}}).value();
  for (const char* bad : {"", "../etc", ".hidden", "a/b", "UPPER", "-x"}) {
    CHECK_FALSE(store.lock(bad, LockWait::no_wait).has_value());
  }
}

TEST_CASE("store: a crash at any step leaves the old version whole", "[store][crash]") {
  const char* step = GENERATE("version_written", "before_swap", "after_swap");
  test::TempDir tmp;
  const auto old_material = make_material({"c.example.test"});
  {
    auto store = Store::open({tmp.path(), 5, {}}).value();
    auto lock = store.lock("c", LockWait::no_wait).value();
    REQUIRE(store.save_certificate(lock, old_material.key, old_material.chain, meta_for({"c.example.test"})));
  }
  const auto new_material = make_material({"c.example.test"});
  {
    StoreOptions o{tmp.path(), 5, [&](std::string_view s) -> util::Result<void> {
                     if (s == step) return crash(s);
                     return util::ok();
                   }};
    auto store = Store::open(o).value();
    auto lock = store.lock("c", LockWait::no_wait).value();
    REQUIRE_FALSE(store.save_certificate(lock, new_material.key, new_material.chain, meta_for({"c.example.test"})));
  }
  // "Restart": readers see the old set or the new one, complete; the next lock holder cleans up.
  auto store = Store::open({tmp.path(), 5, {}}).value();
  auto loaded = store.load_certificate("c").value();
  REQUIRE(loaded.has_value());
  const bool swapped = std::string(step) == "after_swap";
  const auto& expect = swapped ? new_material : old_material;
  CHECK(loaded->chain.leaf().serial_hex() == expect.chain.leaf().serial_hex());
  CHECK(loaded->key.public_der() == expect.key.public_der());
  CHECK(loaded->chain.leaf().matches_key(loaded->key));
  // After the next lock: no temp or orphan version folders remain; after the swap, the old version
  // went to the archive.
  REQUIRE(store.lock("c", LockWait::no_wait));
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(tmp / "certificates/.c.versions")) {
    left.push_back(e.path().filename().string());
  }
  std::sort(left.begin(), left.end());
  CHECK(left == std::vector<std::string>{swapped ? "1" : "0", "archive"});
  CHECK(store.list_archive("c").value().size() == (swapped ? 1u : 0u));
}

TEST_CASE("store: an unwritable version folder fails cleanly and keeps the old set", "[store][crash]") {
  test::TempDir tmp;
  auto store = Store::open({tmp.path(), 5, {}}).value();
  auto lock = store.lock("d", LockWait::no_wait).value();
  const auto first = make_material({"d.example.test"});
  REQUIRE(store.save_certificate(lock, first.key, first.chain, meta_for({"d.example.test"})));
  const auto second = make_material({"d.example.test"});
  // Tests may run as root, where chmod does not stop writes: make the archive folder a file instead.
  fs::remove_all(tmp / "certificates/.d.versions/archive");
  test::write_file(tmp / "certificates/.d.versions/archive", "not a folder");
  auto r = store.save_certificate(lock, second.key, second.chain, meta_for({"d.example.test"}));
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == util::Errc::io);
  CHECK(r.error().message.find("saving certificate \"d\"") != std::string::npos);
  CHECK(store.load_certificate("d").value()->meta.serial == first.chain.leaf().serial_hex());
}

TEST_CASE("store: a write that fails half way (full disk) keeps the old set and leaves no temp folder",
          "[store][crash]") {
  test::TempDir tmp;
  auto store = Store::open({tmp.path(), 5, {}}).value();
  auto lock = store.lock("f", LockWait::no_wait).value();
  const auto first = make_material({"f.example.test"});
  REQUIRE(store.save_certificate(lock, first.key, first.chain, meta_for({"f.example.test"})));
  const auto second = make_material({"f.example.test"});
  util::Result<void> r = util::ok();
  {
    test::FileSizeLimit full(400);  // key.pem fits, cert.pem does not
    r = store.save_certificate(lock, second.key, second.chain, meta_for({"f.example.test"}));
  }
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == util::Errc::io);
  CHECK(r.error().message.find("cert.pem") != std::string::npos);
  CHECK(store.load_certificate("f").value()->meta.serial == first.chain.leaf().serial_hex());
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(tmp / "certificates/.f.versions")) {
    left.push_back(e.path().filename().string());
  }
  std::sort(left.begin(), left.end());
  CHECK(left == std::vector<std::string>{"0", "archive"});
}

TEST_CASE("store: the accounts lock makes a second holder wait", "[store]") {
  test::TempDir tmp;
  auto store = Store::open({tmp.path(), 5, {}}).value();
  std::atomic<bool> second{false};
  std::thread waiter;
  {
    auto held = store.lock_accounts();
    REQUIRE(held);
    waiter = std::thread([&] {
      auto other = store.lock_accounts();
      second = other.has_value();
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK_FALSE(second.load());  // still waiting: the first holder has not let go
  }
  waiter.join();
  CHECK(second.load());
  CHECK(store.lock("web", LockWait::no_wait));  // not the lock of any certificate
}

TEST_CASE("store: an empty --state is refused with what to give instead", "[store]") {
  auto r = Store::open({"", 5, {}});
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == util::Errc::invalid_input);
  CHECK(r.error().message == "--state is empty; give a folder, e.g. /var/lib/certpilot");
}
