#include "agent/secret_reader.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "util/redact.hpp"
#include "util/strings.hpp"

namespace certpilot::agent {

util::Result<util::SecretString> read_secret(const dns::SecretRef& ref) {
  if (ref.kind == dns::SecretRef::Kind::env) {
    // Not a name: most likely the secret itself, which must not be quoted back.
    if (!dns::is_env_var_name(ref.where)) {
      return util::fail(util::Errc::invalid_input,
                        "an -env option must name an environment variable (letters, digits, _), not hold the secret itself");
    }
    const char* v = std::getenv(ref.where.c_str());
    if (v == nullptr || *v == '\0') {
      return util::fail(util::Errc::invalid_input, "environment variable " + ref.where + " is not set or empty");
    }
    return util::SecretString(std::string(util::trim(v)));
  }
  if (std::error_code ec; std::filesystem::is_directory(ref.where, ec)) {
    // ifstream opens a folder and reads nothing, which would be reported as an empty secret.
    return util::fail(util::Errc::io, ref.where + " is a folder; give the file that holds the secret");
  }
  std::ifstream in(ref.where, std::ios::binary);
  if (!in) return util::fail(util::Errc::io, "cannot read " + util::secret_file_label(ref.where) + ": " + std::strerror(errno));
  std::ostringstream content;
  content << in.rdbuf();
  return util::SecretString(std::string(util::trim(content.str())));
}

}  // namespace certpilot::agent
