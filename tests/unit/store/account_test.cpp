#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <algorithm>

#include "store/store.hpp"
#include "support/file_size_limit.hpp"
#include "support/temp_dir.hpp"
#include "util/log.hpp"

using namespace certpilot;
using namespace certpilot::store;
namespace fs = std::filesystem;

TEST_CASE("accounts: ca-host folder from the directory URL", "[store][account]") {
  CHECK(ca_host_folder("https://acme-v02.api.letsencrypt.org/directory").value() == "acme-v02.api.letsencrypt.org");
  CHECK(ca_host_folder("https://LocalHost:14000/dir").value() == "localhost_14000");
  CHECK(ca_host_folder("https://[::1]:14000/dir").value() == "___1__14000");
  CHECK(ca_host_folder("https://user:pw@ca.test/dir").value() == "ca.test");
  CHECK_FALSE(ca_host_folder("ca.test/dir").has_value());
  CHECK_FALSE(ca_host_folder("https:///dir").has_value());
}

TEST_CASE("accounts: save, find by directory URL, list", "[store][account]") {
  test::TempDir tmp;
  auto store = Store::open({tmp.path(), 5, {}}).value();
  const auto key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256).value();
  AccountRecord rec;
  rec.url = "https://localhost:14000/my-account/17";
  rec.directory_url = "https://localhost:14000/dir";
  rec.contact = {"mailto:admin@example.test"};
  rec.created = SysTime(std::chrono::seconds(1'750'000'000));
  auto saved = store.save_account(rec, key).value();
  CHECK(saved.id == "17");
  const fs::path dir = tmp / "accounts/localhost_14000/17";
  struct stat st {};
  REQUIRE(::stat((dir / "key.pem").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  auto found = store.find_account("https://localhost:14000/dir").value();
  REQUIRE(found.has_value());
  CHECK(found->record.url == rec.url);
  CHECK(found->record.contact == rec.contact);
  CHECK(found->record.created == rec.created);
  CHECK(found->key.public_der() == key.public_der());
  // Same host, other directory: not this account.
  CHECK_FALSE(store.find_account("https://localhost:14000/other-dir").value().has_value());
  CHECK_FALSE(store.find_account("https://ca.test/dir").value().has_value());

  // Re-saving (key rollover) replaces the folder atomically.
  const auto new_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p384).value();
  REQUIRE(store.save_account(rec, new_key).has_value());
  CHECK(store.load_account(rec.directory_url, "17").value().key.public_der() == new_key.public_der());
  CHECK(store.list_accounts().value().size() == 1);

  // The newest account for a directory wins.
  AccountRecord newer = rec;
  newer.url = "https://localhost:14000/my-account/18";
  newer.created = *rec.created + std::chrono::hours(1);
  REQUIRE(store.save_account(newer, key).has_value());
  CHECK(store.find_account(rec.directory_url).value()->record.id == "18");
  CHECK(store.list_accounts().value().size() == 2);
}

TEST_CASE("accounts: a crash before the rename leaves nothing half-written", "[store][account]") {
  test::TempDir tmp;
  StoreOptions o{tmp.path(), 5, [](std::string_view s) -> util::Result<void> {
                   if (s == "account_written") return util::fail(util::Errc::internal, "simulated crash");
                   return util::ok();
                 }};
  auto store = Store::open(o).value();
  const auto key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256).value();
  AccountRecord rec{"", "https://ca.test/acct/1", "https://ca.test/dir", {}, std::nullopt};
  REQUIRE_FALSE(store.save_account(rec, key).has_value());
  CHECK_FALSE(store.find_account("https://ca.test/dir").value().has_value());
  CHECK(store.list_accounts().value().empty());
}

TEST_CASE("accounts: a write that fails half way (full disk) leaves no temp folder", "[store][account]") {
  test::TempDir tmp;
  auto store = Store::open({tmp.path(), 5, {}}).value();
  const auto key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256).value();
  AccountRecord rec{"", "https://ca.test/acct/1", "https://ca.test/dir", {}, std::nullopt};
  util::Result<AccountRecord> r = rec;
  {
    test::FileSizeLimit full(100);  // not even key.pem fits
    r = store.save_account(rec, key);
  }
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == util::Errc::io);
  CHECK(r.error().message.find("key.pem") != std::string::npos);
  CHECK(store.list_accounts().value().empty());
  for (const auto& e : fs::recursive_directory_iterator(tmp / "accounts")) {
    CHECK(e.path().filename().string().find(".tmp-") == std::string::npos);
  }
}

TEST_CASE("accounts: a corrupt account.json is reported with its path", "[store][account]") {
  test::TempDir tmp;
  auto store = Store::open({tmp.path(), 5, {}}).value();
  fs::create_directories(tmp / "accounts/ca.test/1");
  test::write_file(tmp / "accounts/ca.test/1/account.json", "{\"id\": 1}");
  auto r = store.find_account("https://ca.test/dir");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == util::Errc::io);
  CHECK(r.error().message.find("accounts/ca.test/1/account.json: \"id\" missing or not a string") !=
        std::string::npos);
}

namespace {

// Captures the store's log lines: the warning naming a skipped folder is the feature under test.
struct LogCapture {
  std::vector<std::string> lines;
  LogCapture() {
    util::configure_logging(util::LogConfig{});
    util::set_log_sink([this](std::string_view line) { lines.emplace_back(line); });
  }
  ~LogCapture() { util::set_log_sink(nullptr); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  bool has(const std::string& a, const std::string& b) const {
    return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) {
      return l.find(a) != std::string::npos && l.find(b) != std::string::npos;
    });
  }
};

AccountRecord record_for(const std::string& url, const std::string& directory_url) {
  return AccountRecord{"", url, directory_url, {}, SysTime(std::chrono::seconds(1'750'000'000))};
}

}  // namespace

TEST_CASE("accounts: a stray folder without account.json is skipped with a warning naming it", "[store][account]") {
  test::TempDir tmp;
  auto store = Store::open({tmp.path(), 5, {}}).value();
  const fs::path host = tmp / "accounts/localhost_14000";
  fs::create_directories(host / "00-junk");  // sorts before the account
  LogCapture log;
  // Alone, it is no account: nothing found, no error, so `issue` registers one.
  auto none = store.find_account("https://localhost:14000/dir");
  REQUIRE(none.has_value());
  CHECK_FALSE(none->has_value());
  CHECK(log.has("skipping a folder without account.json; remove it", (host / "00-junk").string()));

  const auto key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256).value();
  REQUIRE(store.save_account(record_for("https://localhost:14000/my-account/17", "https://localhost:14000/dir"), key)
              .has_value());
  fs::create_directories(host / "junk");  // sorts after it
  test::write_file(host / "junk" / "notes.txt", "x");
  auto found = store.find_account("https://localhost:14000/dir");
  REQUIRE(found.has_value());
  REQUIRE(found->has_value());
  CHECK((*found)->record.id == "17");
  CHECK((*found)->key.public_der() == key.public_der());
  CHECK(log.has("skipping a folder without account.json", (host / "junk").string()));
  CHECK(store.list_accounts().value().size() == 1);
  CHECK(fs::exists(host / "junk" / "notes.txt"));  // skipped, never removed
}

TEST_CASE("accounts: a corrupt account is skipped beside a valid one and named when it is the only one",
          "[store][account]") {
  test::TempDir tmp;
  auto store = Store::open({tmp.path(), 5, {}}).value();
  const std::string dir_url = "https://ca.test/dir";
  const fs::path host = tmp / "accounts/ca.test";
  const auto key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256).value();
  fs::path broken;
  std::string why;
  SECTION("account.json is not JSON") {
    broken = host / "1";
    fs::create_directories(broken);
    test::write_file(broken / "account.json", "{trunc");
    why = (broken / "account.json").string() + ": not a JSON object";
  }
  SECTION("account.json is fine but key.pem is not a key") {
    broken = host / "1";
    REQUIRE(store.save_account(record_for("https://ca.test/acct/1", dir_url), key).has_value());
    fs::remove(broken / "key.pem");
    test::write_file(broken / "key.pem", "not a key\n");
    why = "loading account key";
  }
  LogCapture log;
  // Alone: an error naming it (exit 3), not a silent second registration.
  auto alone = store.find_account(dir_url);
  REQUIRE_FALSE(alone.has_value());
  CHECK(alone.error().code == util::Errc::io);
  CHECK(alone.error().message.rfind("finding account for " + dir_url + ": ", 0) == 0);
  CHECK(alone.error().message.find(why) != std::string::npos);
  CHECK(alone.error().message.find("repair that account, or move its folder out of " + host.string() +
                                   " to register a new one") != std::string::npos);
  CHECK(log.has("skipping an account that does not load", broken.string()));

  // Beside a valid account: skipped with a warning, the valid one is used.
  REQUIRE(store.save_account(record_for("https://ca.test/acct/2", dir_url), key).has_value());
  auto found = store.find_account(dir_url);
  REQUIRE(found.has_value());
  REQUIRE(found->has_value());
  CHECK((*found)->record.id == "2");
  CHECK(fs::exists(broken));  // never removed
}

TEST_CASE("accounts: another CA's account on the same host without a loadable key does not stand in the way",
          "[store][account]") {
  test::TempDir tmp;
  auto store = Store::open({tmp.path(), 5, {}}).value();
  const auto key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256).value();
  REQUIRE(store.save_account(record_for("https://ca.test/acct/1", "https://ca.test/staging"), key).has_value());
  fs::remove(tmp / "accounts/ca.test/1/key.pem");
  auto none = store.find_account("https://ca.test/dir");
  REQUIRE(none.has_value());
  CHECK_FALSE(none->has_value());
}
