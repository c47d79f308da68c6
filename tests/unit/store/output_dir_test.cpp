#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>

#include "store/output_dir.hpp"
#include "support/file_size_limit.hpp"
#include "support/temp_dir.hpp"
#include "support/test_ca.hpp"

using namespace certpilot;
using namespace certpilot::store;
namespace fs = std::filesystem;

namespace {

struct Material {
  crypto::PrivateKey key;
  crypto::CertificateChain chain;
};

Material make_material(const std::vector<std::string>& names) {
  static const test::TestCa root = test::TestCa::create("Out Test Root");
  static const test::TestCa inter = root.issue_intermediate("Out Test Intermediate");
  auto key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256).value();
  auto chain = crypto::CertificateChain::from_pem(inter.issue_leaf(key, names) + inter.cert_pem()).value();
  return {std::move(key), std::move(chain)};
}

}  // namespace

TEST_CASE("output dir: writes a set, then replaces it by a symlink swap", "[store][out]") {
  test::TempDir tmp;
  const fs::path out = tmp / "out";
  const auto first = make_material({"a.example.test"});
  REQUIRE(write_output_dir(out, first.key, first.chain, {"a.example.test"}).has_value());
  CHECK(fs::is_symlink(out));
  CHECK(test::read_file(out / "cert.pem") == first.chain.leaf_pem());
  CHECK(test::read_file(out / "chain.pem") == first.chain.intermediates_pem());
  CHECK(test::read_file(out / "fullchain.pem") == first.chain.full_pem());
  struct stat st {};
  REQUIRE(::stat((out / "key.pem").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  const auto second = make_material({"a.example.test"});
  REQUIRE(write_output_dir(out.string() + "/", second.key, second.chain, {"A.example.test"}).has_value());
  CHECK(test::read_file(out / "cert.pem") == second.chain.leaf_pem());
  CHECK(crypto::PrivateKey::load((out / "key.pem").string()).value().public_der() == second.key.public_der());
  // The previous set is kept for readers that resolved the link just before the switch; older go.
  const auto third = make_material({"a.example.test"});
  REQUIRE(write_output_dir(out, third.key, third.chain, {"a.example.test"}).has_value());
  std::vector<std::string> versions;
  for (const auto& e : fs::directory_iterator(tmp / "out.versions")) versions.push_back(e.path().filename().string());
  std::sort(versions.begin(), versions.end());
  CHECK(versions == std::vector<std::string>{".lock", "1", "2"});
}

TEST_CASE("output dir: verifies before writing anything", "[store][out]") {
  test::TempDir tmp;
  const fs::path out = tmp / "out";
  const auto m = make_material({"a.example.test", "b.example.test"});
  const auto other = make_material({"a.example.test"});
  auto r = write_output_dir(out, other.key, m.chain, {});
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == util::Errc::invalid_input);
  CHECK(r.error().message.find("does not belong") != std::string::npos);
  r = write_output_dir(out, m.key, m.chain, {"a.example.test"});
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message.find("names [a.example.test, b.example.test] but [a.example.test] was requested") !=
        std::string::npos);
  CHECK_FALSE(fs::exists(out));
  CHECK_FALSE(fs::exists(tmp / "out.versions"));
}

TEST_CASE("output dir: refuses a plain folder it did not write", "[store][out]") {
  test::TempDir tmp;
  const fs::path out = tmp / "out";
  fs::create_directory(out);
  test::write_file(out / "cert.pem", "somebody else's");
  const auto m = make_material({"a.example.test"});
  auto r = write_output_dir(out, m.key, m.chain, {"a.example.test"});
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == util::Errc::invalid_input);
  CHECK(r.error().message.find("already exists and was not written by certpilot (a plain folder)") !=
        std::string::npos);
  CHECK(test::read_file(out / "cert.pem") == "somebody else's");
}

TEST_CASE("output dir: a crash before the swap keeps the old set, the next run cleans up", "[store][out]") {
  const char* step = GENERATE("version_written", "before_swap");
  test::TempDir tmp;
  const fs::path out = tmp / "out";
  const auto first = make_material({"a.example.test"});
  REQUIRE(write_output_dir(out, first.key, first.chain, {"a.example.test"}).has_value());
  const auto second = make_material({"a.example.test"});
  OutputDirOptions o;
  o.fault_hook = [&](std::string_view s) -> util::Result<void> {
    if (s == step) return util::fail(util::Errc::internal, "simulated crash");
    return util::ok();
  };
  REQUIRE_FALSE(write_output_dir(out, second.key, second.chain, {"a.example.test"}, o).has_value());
  CHECK(test::read_file(out / "cert.pem") == first.chain.leaf_pem());
  CHECK(crypto::PrivateKey::load((out / "key.pem").string()).value().public_der() == first.key.public_der());
  const auto third = make_material({"a.example.test"});
  REQUIRE(write_output_dir(out, third.key, third.chain, {"a.example.test"}).has_value());
  CHECK(test::read_file(out / "cert.pem") == third.chain.leaf_pem());
  for (const auto& e : fs::directory_iterator(tmp / "out.versions")) {
    CHECK(e.path().extension() != ".tmp");
  }
}

TEST_CASE("output dir: a trailing '/' on a new path names the same DIR", "[store][out]") {
  test::TempDir tmp;
  const fs::path out = tmp / "new";
  auto checked = check_output_dir(out.string() + "/");
  REQUIRE(checked.has_value());
  CHECK(*checked == out);
  CHECK_FALSE(fs::exists(out));  // the check creates nothing
  CHECK(check_output_dir(out.string() + "/.").value() == out);

  const auto m = make_material({"a.example.test"});
  REQUIRE(write_output_dir(out.string() + "/", m.key, m.chain, {"a.example.test"}).has_value());
  CHECK(fs::is_symlink(out));
  CHECK(test::read_file(out / "cert.pem") == m.chain.leaf_pem());
  // certpilot's own DIR passes the check, with or without the '/'.
  CHECK(check_output_dir(out).value() == out);
  CHECK(check_output_dir(out.string() + "/").value() == out);
}

TEST_CASE("output dir: the early check refuses what write_output_dir would refuse, and touches nothing",
          "[store][out]") {
  test::TempDir tmp;
  const fs::path out = tmp / "out";
  std::string what;
  SECTION("a file") {
    test::write_file(out, "keep\n");
    what = "(a file)";
  }
  SECTION("a plain folder") {
    fs::create_directory(out);
    test::write_file(out / "cert.pem", "keep\n");
    what = "(a plain folder)";
  }
  SECTION("a symlink to itself") {
    fs::create_symlink("out", out);
    what = "(a foreign symlink)";
  }
  SECTION("a symlink elsewhere") {
    fs::create_directory(tmp / "elsewhere");
    fs::create_symlink(tmp / "elsewhere", out);
    what = "(a foreign symlink)";
  }
  for (const std::string& arg : {out.string(), out.string() + "/"}) {
    auto r = check_output_dir(arg);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == util::Errc::invalid_input);
    // The path, what is there and the fix, each once.
    CHECK(r.error().message.rfind(out.string() + " already exists and was not written by certpilot " + what, 0) == 0);
    CHECK(r.error().message.find("Move it away (or pick another --out)") != std::string::npos);
  }
  // write_output_dir refuses the same way, without repeating the path as context.
  const auto m = make_material({"a.example.test"});
  auto w = write_output_dir(out, m.key, m.chain, {"a.example.test"});
  REQUIRE_FALSE(w.has_value());
  CHECK(w.error().code == util::Errc::invalid_input);
  CHECK(w.error().message.rfind(out.string() + " already exists", 0) == 0);
  CHECK_FALSE(fs::exists(tmp / "out.versions"));
  if (what == "(a file)") CHECK(test::read_file(out) == "keep\n");
  if (what == "(a plain folder)") CHECK(test::read_file(out / "cert.pem") == "keep\n");
}

TEST_CASE("output dir: paths that cannot be a DIR", "[store][out]") {
  test::TempDir tmp;
  auto root = check_output_dir("/");
  REQUIRE_FALSE(root.has_value());
  CHECK(root.error().code == util::Errc::invalid_input);
  CHECK(root.error().message.find("output folder /: names no folder") != std::string::npos);

  test::write_file(tmp / "file", "keep\n");
  auto under_file = check_output_dir(tmp / "file" / "out");
  REQUIRE_FALSE(under_file.has_value());
  CHECK(under_file.error().code == util::Errc::io);
  CHECK(under_file.error().message.find((tmp / "file" / "out").string()) != std::string::npos);
  CHECK(test::read_file(tmp / "file") == "keep\n");

  // A missing parent is fine: issue creates it.
  CHECK(check_output_dir(tmp / "a" / "b" / "out").has_value());
  CHECK_FALSE(fs::exists(tmp / "a"));
}

TEST_CASE("output dir: a failure while writing names DIR once", "[store][out]") {
  test::TempDir tmp;
  const fs::path out = tmp / "out";
  const auto m = make_material({"a.example.test"});
  OutputDirOptions o;
  o.fault_hook = [](std::string_view) -> util::Result<void> { return util::fail(util::Errc::io, "disk full"); };
  auto r = write_output_dir(out, m.key, m.chain, {"a.example.test"}, o);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message == "writing " + out.string() + ": disk full");
}

TEST_CASE("output dir: a write that fails half way (full disk) keeps the old set and leaves no temp folder",
          "[store][out]") {
  test::TempDir tmp;
  const fs::path out = tmp / "out";
  const auto first = make_material({"a.example.test"});
  REQUIRE(write_output_dir(out, first.key, first.chain, {"a.example.test"}).has_value());
  const auto second = make_material({"a.example.test"});
  util::Result<void> r = util::ok();
  {
    test::FileSizeLimit full(400);  // key.pem fits, cert.pem does not
    r = write_output_dir(out, second.key, second.chain, {"a.example.test"});
  }
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == util::Errc::io);
  CHECK(r.error().message.find("cert.pem") != std::string::npos);
  CHECK(test::read_file(out / "cert.pem") == first.chain.leaf_pem());
  CHECK(crypto::PrivateKey::load((out / "key.pem").string()).value().public_der() == first.key.public_der());
  for (const auto& e : fs::directory_iterator(tmp / "out.versions")) {
    CHECK(e.path().extension() != ".tmp");
  }
}

TEST_CASE("output dir: a hold keeps a second writer out for the whole run, and a failed first run leaves nothing",
          "[store][out]") {
  test::TempDir tmp;
  const fs::path out = tmp / "out";
  {
    auto first = OutputDirHold::take(out);
    REQUIRE(first.has_value());
    CHECK(fs::is_directory(tmp / "out.versions"));
    auto second = OutputDirHold::take(out);
    REQUIRE_FALSE(second.has_value());
    CHECK(second.error().code == util::Errc::conflict);
    CHECK(second.error().message.find("another certpilot process (pid " + std::to_string(::getpid()) + ")") !=
          std::string::npos);
    const auto m = make_material({"a.example.test"});
    CHECK(write_output_dir(out, m.key, m.chain, {"a.example.test"}).error().code == util::Errc::conflict);
  }
  // Released, and the run wrote nothing: no empty out.versions/ is left behind.
  CHECK_FALSE(fs::exists(tmp / "out.versions"));
  {
    auto hold = OutputDirHold::take(out);
    REQUIRE(hold.has_value());
    const auto m = make_material({"a.example.test"});
    REQUIRE(write_output_dir(*hold, m.key, m.chain, {"a.example.test"}).has_value());
  }
  CHECK(fs::exists(out / "cert.pem"));
  CHECK(fs::exists(tmp / "out.versions"));  // holds the set now
}

TEST_CASE("output dir: DIR.versions that cannot be a folder is refused by the hold, before any order", "[store][out]") {
  test::TempDir tmp;
  test::write_file(tmp / "o7.versions", "x");
  auto r = OutputDirHold::take(tmp / "o7");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == util::Errc::io);
  CHECK(r.error().message.find((tmp / "o7.versions").string()) != std::string::npos);
  CHECK(test::read_file(tmp / "o7.versions") == "x");
  auto proc = OutputDirHold::take("/proc/certpilot-test-out");
  REQUIRE_FALSE(proc.has_value());
  CHECK(proc.error().code == util::Errc::io);
}

namespace {

std::vector<std::string> versions_in(const fs::path& versions) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(versions)) {
    if (e.path().filename() != ".lock") out.push_back(e.path().filename().string());
  }
  const auto by_number = [](const std::string& a, const std::string& b) { return std::stol(a) < std::stol(b); };
  std::sort(out.begin(), out.end(), by_number);
  return out;
}

void relink(const fs::path& link, const fs::path& target) {
  fs::remove(link);
  fs::create_symlink(target, link);
}

}  // namespace

TEST_CASE("output dir: a link to a missing version never prunes the newest existing sets", "[store][out]") {
  test::TempDir tmp;
  const fs::path out = tmp / "out";
  const fs::path versions = tmp / "out.versions";
  const auto first = make_material({"a.example.test"});
  const auto second = make_material({"a.example.test"});
  REQUIRE(write_output_dir(out, first.key, first.chain, {"a.example.test"}).has_value());
  REQUIRE(write_output_dir(out, second.key, second.chain, {"a.example.test"}).has_value());
  const auto next = make_material({"a.example.test"});

  SECTION("QA's case: ln -sfn out.versions/99 out keeps 0 and 1 beside 100") {
    relink(out, "out.versions/99");
    REQUIRE(write_output_dir(out, next.key, next.chain, {"a.example.test"}).has_value());
    CHECK(versions_in(versions) == std::vector<std::string>{"0", "1", "100"});
    CHECK(fs::read_symlink(out) == fs::path("out.versions/100"));
    CHECK(test::read_file(out / "cert.pem") == next.chain.leaf_pem());
    CHECK(crypto::PrivateKey::load((versions / "0/key.pem").string()).value().public_der() ==
          first.key.public_der());
  }
  SECTION("only keep_unlinked newest are kept besides the new one") {
    for (const char* n : {"2", "3", "4", "5", "6"}) fs::copy(versions / "1", versions / n);
    relink(out, "out.versions/99");
    OutputDirOptions o;
    CHECK(o.keep_unlinked == 5);  // the store's default archive_keep
    REQUIRE(write_output_dir(out, next.key, next.chain, {"a.example.test"}, o).has_value());
    CHECK(versions_in(versions) == std::vector<std::string>{"2", "3", "4", "5", "6", "100"});
    o.keep_unlinked = 1;
    relink(out, "out.versions/42");
    const auto last = make_material({"a.example.test"});
    REQUIRE(write_output_dir(out, last.key, last.chain, {"a.example.test"}, o).has_value());
    CHECK(versions_in(versions) == std::vector<std::string>{"100", "101"});
    CHECK(test::read_file(out / "cert.pem") == last.chain.leaf_pem());
  }
  SECTION("DIR removed by hand") {
    fs::remove(out);
    REQUIRE(write_output_dir(out, next.key, next.chain, {"a.example.test"}).has_value());
    CHECK(versions_in(versions) == std::vector<std::string>{"0", "1", "2"});
    CHECK(test::read_file(out / "cert.pem") == next.chain.leaf_pem());
  }
}

TEST_CASE("output dir: an absolute link into its own DIR.versions is a rollback and the new link is relative",
          "[store][out]") {
  test::TempDir tmp;
  const fs::path out = tmp / "out";
  const fs::path versions = tmp / "out.versions";
  const auto first = make_material({"a.example.test"});
  const auto second = make_material({"a.example.test"});
  REQUIRE(write_output_dir(out, first.key, first.chain, {"a.example.test"}).has_value());
  REQUIRE(write_output_dir(out, second.key, second.chain, {"a.example.test"}).has_value());
  fs::create_directory_symlink(tmp.path(), tmp / "alias");
  // Absolute; with a trailing '/'; through a symlinked parent; relative but spelt differently.
  const std::string form = GENERATE("abs", "abs/", "alias", "./");
  const fs::path target = form == "abs"     ? versions / "0"
                          : form == "abs/"  ? fs::path(versions.string() + "/0/")
                          : form == "alias" ? tmp / "alias/out.versions/0"
                                            : fs::path("./out.versions/0");
  relink(out, target);
  CHECK(check_output_dir(out).value() == out);
  CHECK(test::read_file(out / "cert.pem") == first.chain.leaf_pem());  // rolled back

  const auto next = make_material({"a.example.test"});
  REQUIRE(write_output_dir(out, next.key, next.chain, {"a.example.test"}).has_value());
  CHECK(fs::read_symlink(out) == fs::path("out.versions/2"));
  CHECK(test::read_file(out / "cert.pem") == next.chain.leaf_pem());
  // The set rolled back to is the previous one now, and kept.
  CHECK(versions_in(versions) == std::vector<std::string>{"0", "2"});
}

TEST_CASE("output dir: an absolute link into another DIR's versions is still foreign", "[store][out]") {
  test::TempDir tmp;
  const auto m = make_material({"a.example.test"});
  REQUIRE(write_output_dir(tmp / "other", m.key, m.chain, {"a.example.test"}).has_value());
  fs::create_symlink(tmp / "other.versions/0", tmp / "out");
  auto r = check_output_dir(tmp / "out");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == util::Errc::invalid_input);
  CHECK(r.error().message.find("was not written by certpilot (a foreign symlink)") != std::string::npos);
  CHECK(fs::read_symlink(tmp / "out") == tmp / "other.versions/0");
}
