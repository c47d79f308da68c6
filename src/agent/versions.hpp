#pragma once
// What `certpilot version` prints besides its own version: the libraries loaded at run time, which
// is what a bug report needs (Debian updates them without rebuilding certpilot).
#include <string>
#include <vector>

namespace certpilot::agent {

std::vector<std::string> library_versions();

}  // namespace certpilot::agent
