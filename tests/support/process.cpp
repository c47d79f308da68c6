#include "support/process.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "util/subprocess.hpp"

namespace certpilot::test {

CommandResult run_command(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                          std::chrono::milliseconds timeout, const std::string& stdin_data) {
  util::ProcessOptions options;
  options.argv = argv;
  options.env_extra = env;
  options.timeout = timeout;
  options.stdin_data = stdin_data;
  options.max_output = 16 << 20;  // tests read whole certificate chains and logs
  auto r = util::run_process(options);
  if (!r) throw std::runtime_error("run_command: " + r.error().describe());
  CommandResult out;
  out.exit_code = r->timed_out ? -1 : r->exit_code;
  out.signal = r->signal;
  out.timed_out = r->timed_out;
  out.out = std::move(r->out);
  out.err = std::move(r->err);
  return out;
}

std::string describe(const std::vector<std::string>& argv, const CommandResult& r) {
  std::ostringstream s;
  if (r.timed_out) {
    s << "timed out";
  } else if (r.signal != 0) {
    s << "killed by signal " << r.signal;
  } else {
    s << "exit " << r.exit_code;
  }
  s << ":";
  for (const auto& a : argv) s << ' ' << a;
  s << "\n--- stdout\n" << r.out << "\n--- stderr\n" << r.err;
  return s.str();
}

std::filesystem::path certpilot_binary() { return CERTPILOT_BINARY; }
std::filesystem::path source_dir() { return CERTPILOT_SOURCE_DIR; }

bool process_running(int pid) {
  if (pid <= 0) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  // Field 3 (state) follows the ")" that closes the command name, which may itself contain spaces.
  const auto close = line.rfind(')');
  if (close == std::string::npos || close + 2 >= line.size()) return false;
  const char state = line[close + 2];
  return state != 'Z' && state != 'X';
}

}  // namespace certpilot::test
