#pragma once
// Shared by the integration tests that run `certpilot issue` against a PebbleFixture.
#include <filesystem>
#include <string>
#include <vector>

#include "support/pebble_fixture.hpp"
#include "support/process.hpp"

namespace certpilot::test {

// certpilot issue -d ... with the fixture's directory, CA bundle and challtestsrv, plus extra args.
std::vector<std::string> issue_argv(const PebbleFixture& pebble, const std::vector<std::string>& names,
                                    const std::filesystem::path& out, const std::filesystem::path& state,
                                    const std::vector<std::string>& extra = {});
// The certificate in `dir` verifies against Pebble's root `root_index`, its key matches, and its
// names are exactly `names`. Returns the leaf's serial (lowercase hex). Fails the test otherwise.
std::string check_issued(const PebbleFixture& pebble, const std::filesystem::path& dir,
                         const std::vector<std::string>& names, int root_index = 0);
// Octal permission bits of a path (following symlinks).
unsigned mode_of(const std::filesystem::path& p);

}  // namespace certpilot::test
