#include "support/issue_helpers.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <catch2/catch.hpp>

#include "crypto/certificate.hpp"
#include "support/temp_dir.hpp"

namespace certpilot::test {

std::vector<std::string> issue_argv(const PebbleFixture& pebble, const std::vector<std::string>& names,
                                    const std::filesystem::path& out, const std::filesystem::path& state,
                                    const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {certpilot_binary().string(), "issue"};
  for (const auto& n : names) {
    argv.push_back("-d");
    argv.push_back(n);
  }
  for (const auto& a : {std::string("--directory"), pebble.directory_url(), std::string("--ca-bundle"),
                        pebble.ca_bundle_path(), std::string("--agree-tos"), std::string("--email"),
                        std::string("ops@example.test"), std::string("--out"), out.string(), std::string("--state"),
                        state.string()}) {
    argv.push_back(a);
  }
  bool has_dns = std::find(extra.begin(), extra.end(), "--dns") != extra.end();
  if (!has_dns) {
    argv.insert(argv.end(), {"--dns", "challtestsrv", "--dns-opt", "url=" + pebble.challtestsrv_url()});
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

std::string check_issued(const PebbleFixture& pebble, const std::filesystem::path& dir,
                         const std::vector<std::string>& names, int root_index) {
  auto chain = crypto::CertificateChain::from_pem(read_file(dir / "fullchain.pem"));
  REQUIRE(chain.has_value());
  auto leaf_only = crypto::Certificate::from_pem(read_file(dir / "cert.pem"));
  REQUIRE(leaf_only.has_value());
  CHECK(leaf_only->serial_hex() == chain->leaf().serial_hex());
  auto intermediates = crypto::parse_pem_certificates(read_file(dir / "chain.pem"));
  REQUIRE(intermediates.has_value());
  CHECK(intermediates->size() + 1 == chain->certificates().size());
  auto key = crypto::PrivateKey::load((dir / "key.pem").string());
  REQUIRE(key.has_value());
  CHECK(chain->leaf().matches_key(*key));
  auto root = crypto::Certificate::from_pem(pebble.root_pem(root_index));
  REQUIRE(root.has_value());
  auto verified = chain->verify({*root}, std::chrono::system_clock::now());
  INFO((verified ? std::string() : verified.error().message));
  CHECK(verified.has_value());
  auto got = chain->leaf().dns_names();
  auto want = names;
  std::sort(got.begin(), got.end());
  std::sort(want.begin(), want.end());
  CHECK(got == want);
  CHECK(mode_of(dir / "key.pem") == 0600);
  return chain->leaf().serial_hex();
}

unsigned mode_of(const std::filesystem::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

}  // namespace certpilot::test
