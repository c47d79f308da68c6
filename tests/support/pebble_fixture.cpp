#include "support/pebble_fixture.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "support/process.hpp"

namespace certpilot::test {
namespace {

const std::chrono::seconds kStartTimeout{90};  // start.sh itself gives up after 30 s
const std::chrono::seconds kRequestTimeout{30};

std::string script(const char* name) { return (source_dir() / "pebble" / name).string(); }

std::string make_state_dir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/certpilot-pebble-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("PebbleFixture: mkdtemp failed for " + tmpl);
  return tmpl;
}

// DIR/env is plain KEY=VALUE lines (start.sh refuses state directories that would need quoting).
std::map<std::string, std::string> parse_env_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("PebbleFixture: cannot read " + path.string());
  std::map<std::string, std::string> env;
  std::string line;
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    env[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return env;
}

CommandResult run_checked(const std::vector<std::string>& argv, const std::string& what,
                          const std::string& stdin_data = {}) {
  auto r = run_command(argv, {}, kRequestTimeout, stdin_data);
  if (r.exit_code != 0) throw std::runtime_error("PebbleFixture: " + what + " failed: " + describe(argv, r));
  return r;
}

std::string with_trailing_dot(std::string name) {
  if (name.empty() || name.back() != '.') name.push_back('.');
  return name;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      throw std::runtime_error("PebbleFixture: control character in JSON string");
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// One line of `dig +short TXT`: one or more quoted character-strings, concatenated the way ACME
// servers read them (RFC 8555 §8.4 values are a single string, but a long one may be split).
std::string unquote_txt(const std::string& line) {
  std::string out;
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (c == '"') {
      quoted = !quoted;
    } else if (quoted && c == '\\' && i + 1 < line.size()) {
      if (i + 3 < line.size() && std::isdigit(static_cast<unsigned char>(line[i + 1])) &&
          std::isdigit(static_cast<unsigned char>(line[i + 2])) && std::isdigit(static_cast<unsigned char>(line[i + 3]))) {
        out += static_cast<char>(std::stoi(line.substr(i + 1, 3)));  // \DDD, RFC 1035 §5.1
        i += 3;
      } else {
        out += line[++i];
      }
    } else if (quoted) {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::unique_ptr<PebbleFixture> PebbleFixture::start(const PebbleOptions& options) {
  const std::string dir = make_state_dir();
  std::vector<std::string> argv = {"bash", script("start.sh"), "--dir", dir, "--watch-pid", std::to_string(::getpid())};
  if (options.eab) argv.push_back("--eab");
  if (!options.challtestsrv) argv.push_back("--no-challtestsrv");
  if (!options.dns_server.empty()) {
    argv.push_back("--dns-server");
    argv.push_back(options.dns_server);
  }
  for (const auto& [k, v] : options.env) {
    argv.push_back("--env");
    argv.push_back(k + "=" + v);
  }
  const auto r = run_command(argv, {}, kStartTimeout);
  if (r.exit_code != 0) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);  // the log tails are in r.err already
    throw std::runtime_error("PebbleFixture: pebble/start.sh failed: " + describe(argv, r));
  }
  std::unique_ptr<PebbleFixture> f(new PebbleFixture());
  f->env_ = parse_env_file(std::filesystem::path(dir) / "env");
  f->state_dir_ = dir;
  f->directory_url_ = f->env_value("PEBBLE_DIRECTORY");
  f->ca_bundle_ = f->env_value("PEBBLE_CA_BUNDLE");
  f->management_url_ = f->env_value("PEBBLE_MANAGEMENT");
  f->challtestsrv_url_ = f->env_value("CHALLTESTSRV_URL");
  f->challtestsrv_dns_ = f->env_value("CHALLTESTSRV_DNS");
  if (f->directory_url_.empty() || f->ca_bundle_.empty() || f->management_url_.empty()) {
    throw std::runtime_error("PebbleFixture: " + dir + "/env lacks PEBBLE_DIRECTORY/CA_BUNDLE/MANAGEMENT");
  }
  return f;
}

PebbleFixture::~PebbleFixture() {
  const char* keep = std::getenv("CERTPILOT_KEEP_PEBBLE");
  const bool clean = !(keep && std::string(keep) == "1");
  std::vector<std::string> argv = {"bash", script("stop.sh"), "--dir", state_dir_};
  if (clean) argv.push_back("--clean");
  try {
    (void)run_command(argv, {}, std::chrono::seconds(30));
  } catch (...) {
    // A destructor must not throw; the watchdog still stops the servers when this process exits.
  }
}

void PebbleFixture::stop() {
  if (stopped_) return;
  run_checked({"bash", script("stop.sh"), "--dir", state_dir_}, "pebble/stop.sh");
  stopped_ = true;
}

int PebbleFixture::pebble_pid() const {
  const auto v = env_value("PEBBLE_PID");
  return v.empty() ? 0 : std::stoi(v);
}

int PebbleFixture::challtestsrv_pid() const {
  const auto v = env_value("CHALLTESTSRV_PID");
  return v.empty() ? 0 : std::stoi(v);
}

std::string PebbleFixture::env_value(const std::string& key) const {
  const auto it = env_.find(key);
  return it == env_.end() ? std::string() : it->second;
}

std::string PebbleFixture::https_get(const std::string& url) const {
  return run_checked({"curl", "-sS", "-f", "--max-time", "20", "--cacert", ca_bundle_, url}, "GET " + url).out;
}

std::string PebbleFixture::root_pem(int index) const {
  return https_get(management_url_ + "/roots/" + std::to_string(index));
}

std::string PebbleFixture::intermediate_pem(int index) const {
  return https_get(management_url_ + "/intermediates/" + std::to_string(index));
}

std::string PebbleFixture::cert_status_by_serial(const std::string& serial_hex) const {
  std::string serial;
  for (const char c : serial_hex) {
    if (std::isxdigit(static_cast<unsigned char>(c))) serial += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  const auto first = serial.find_first_not_of('0');
  serial = first == std::string::npos ? "0" : serial.substr(first);
  return https_get(management_url_ + "/cert-status-by-serial/" + serial);
}

std::string PebbleFixture::http_post(const std::string& path, const std::string& json_body) const {
  if (challtestsrv_url_.empty()) throw std::runtime_error("PebbleFixture: started without challtestsrv");
  const std::string url = challtestsrv_url_ + path;
  return run_checked({"curl", "-sS", "-f", "--max-time", "20", "-X", "POST", "-H", "Content-Type: application/json",
                      "--data-binary", "@-", url},
                     "POST " + url, json_body)
      .out;
}

void PebbleFixture::set_txt(const std::string& host, const std::string& value) const {
  (void)http_post("/set-txt", "{\"host\":" + json_string(with_trailing_dot(host)) + ",\"value\":" + json_string(value) + "}");
}

void PebbleFixture::clear_txt(const std::string& host) const {
  (void)http_post("/clear-txt", "{\"host\":" + json_string(with_trailing_dot(host)) + "}");
}

std::vector<std::string> PebbleFixture::txt_values(const std::string& name) const {
  const auto colon = challtestsrv_dns_.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("PebbleFixture: started without challtestsrv");
  const std::vector<std::string> argv = {"dig", "@" + challtestsrv_dns_.substr(0, colon), "-p",
                                         challtestsrv_dns_.substr(colon + 1), "TXT", with_trailing_dot(name),
                                         "+short", "+time=2", "+tries=2"};
  CommandResult r;
  try {
    r = run_checked(argv, "dig");
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(std::string(e.what()) + "\n(dig comes from Debian's bind9-dnsutils)");
  }
  std::vector<std::string> values;
  std::size_t pos = 0;
  while (pos < r.out.size()) {
    auto end = r.out.find('\n', pos);
    if (end == std::string::npos) end = r.out.size();
    const std::string line = r.out.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty()) continue;
    // dig reports transport trouble as ";;" comments on stdout even with +short.
    if (line.rfind(";;", 0) == 0) throw std::runtime_error("PebbleFixture: dig: " + line);
    values.push_back(unquote_txt(line));
  }
  std::sort(values.begin(), values.end());
  return values;
}

}  // namespace certpilot::test
