#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "store/store.hpp"
#include "support/file_size_limit.hpp"
#include "support/temp_dir.hpp"

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
  CHECK(r.error().message.find("accounts/ca.test/1/account.json: \"id\" missing or not a string") !=
        std::string::npos);
}
