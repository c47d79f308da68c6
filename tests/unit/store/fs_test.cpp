#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "store/detail/fs.hpp"
#include "support/temp_dir.hpp"

using namespace certpilot;
namespace fs = std::filesystem;

namespace {
unsigned mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}
}  // namespace

TEST_CASE("store fs: make_dirs creates 0700 folders under umask 000, leaves existing parents alone", "[store]") {
  test::TempDir tmp;
  fs::create_directory(tmp / "existing");
  REQUIRE(::chmod((tmp / "existing").c_str(), 0755) == 0);
  const mode_t saved = ::umask(0);
  auto r = store::detail::make_dirs(tmp / "existing" / "a" / "b");
  ::umask(saved);
  REQUIRE(r.has_value());
  CHECK(mode_of(tmp / "existing") == 0755);
  CHECK(mode_of(tmp / "existing" / "a") == 0700);
  CHECK(mode_of(tmp / "existing" / "a" / "b") == 0700);

  // The folder asked for is the store's own: its mode is corrected even when it existed.
  REQUIRE(::chmod((tmp / "existing" / "a" / "b").c_str(), 0777) == 0);
  REQUIRE(store::detail::make_dirs(tmp / "existing" / "a" / "b").has_value());
  CHECK(mode_of(tmp / "existing" / "a" / "b") == 0700);

  test::write_file(tmp / "file", "x");
  auto blocked = store::detail::make_dirs(tmp / "file" / "a");
  REQUIRE_FALSE(blocked.has_value());
  CHECK(blocked.error().message == "creating folder " + (tmp / "file").string() + ": exists and is not a folder");
}
