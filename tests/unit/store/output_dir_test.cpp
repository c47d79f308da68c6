#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "store/output_dir.hpp"
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
