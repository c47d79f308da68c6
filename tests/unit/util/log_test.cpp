// util/log: logging is the feature under test here, so the text is asserted.
#include <catch2/catch.hpp>

#include <sstream>

#include <nlohmann/json.hpp>

#include "util/log.hpp"
#include "util/secret.hpp"

using namespace certpilot::util;

namespace {
// Captures every line and restores the process-wide defaults afterwards.
struct LogCapture {
  std::vector<std::string> lines;
  explicit LogCapture(LogConfig config) {
    configure_logging(config);
    set_log_sink([this](std::string_view line) { lines.emplace_back(line); });
  }
  ~LogCapture() {
    set_log_sink(nullptr);
    configure_logging(LogConfig{});
  }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
};
}  // namespace

TEST_CASE("text lines: level, module, message and key=value fields", "[util][log]") {
  LogCapture cap(LogConfig{});
  const Logger log("acme");
  log.info("order created", {{"order", "https://ca.test/order/1"}, {"names", 2}});
  REQUIRE(cap.lines.size() == 1);
  CHECK(cap.lines[0] == "info acme: order created order=https://ca.test/order/1 names=2\n");
}

TEST_CASE("text values with spaces, quotes, '=' or control characters are quoted", "[util][log]") {
  LogCapture cap(LogConfig{});
  const Logger log("dns");
  log.warn("check", {{"error", "no such host"},
                     {"empty", ""},
                     {"eq", "a=b"},
                     {"quote", "say \"hi\""},
                     {"nl", "l1\nl2"},
                     {"plain", "x.test"}});
  REQUIRE(cap.lines.size() == 1);
  CHECK(cap.lines[0] ==
        "warn dns: check error=\"no such host\" empty=\"\" eq=\"a=b\" quote=\"say \\\"hi\\\"\" nl=\"l1\\nl2\" "
        "plain=x.test\n");
  // One event, one line: the newline in the value was escaped.
  CHECK(cap.lines[0].find('\n') == cap.lines[0].size() - 1);
}

TEST_CASE("levels below the configured one are dropped", "[util][log]") {
  LogConfig config;
  config.level = LogLevel::warn;
  LogCapture cap(config);
  const Logger log("agent");
  CHECK_FALSE(log.enabled(LogLevel::debug));
  CHECK_FALSE(log.enabled(LogLevel::info));
  CHECK(log.enabled(LogLevel::warn));
  CHECK(log.enabled(LogLevel::error));
  log.debug("d");
  log.info("i");
  log.warn("w");
  log.error("e");
  REQUIRE(cap.lines.size() == 2);
  CHECK(cap.lines[0] == "warn agent: w\n");
  CHECK(cap.lines[1] == "error agent: e\n");
}

TEST_CASE("level off silences everything", "[util][log]") {
  LogConfig config;
  config.level = LogLevel::off;
  LogCapture cap(config);
  const Logger log("agent");
  log.error("e");
  CHECK(cap.lines.empty());
  CHECK_FALSE(log.enabled(LogLevel::off));
}

TEST_CASE("JSON lines parse as JSON and keep every field", "[util][log]") {
  LogConfig config;
  config.json = true;
  config.level = LogLevel::debug;
  LogCapture cap(config);
  const Logger log("tls");
  log.debug("handshake \"failed\"", {{"peer", "127.0.0.1:443"}, {"detail", "tab\there\nnewline"}, {"n", 3}});
  REQUIRE(cap.lines.size() == 1);
  const std::string& line = cap.lines[0];
  REQUIRE(line.back() == '\n');
  CHECK(line.find('\n') == line.size() - 1);
  const auto doc = nlohmann::json::parse(line, nullptr, false);
  REQUIRE_FALSE(doc.is_discarded());
  CHECK(doc.at("level") == "debug");
  CHECK(doc.at("module") == "tls");
  CHECK(doc.at("msg") == "handshake \"failed\"");
  CHECK(doc.at("peer") == "127.0.0.1:443");
  CHECK(doc.at("detail") == "tab\there\nnewline");
  CHECK(doc.at("n") == "3");  // every field value is a string
  CHECK_FALSE(doc.contains("time"));
}

TEST_CASE("timestamps are RFC 3339 UTC when enabled", "[util][log]") {
  SECTION("json") {
    LogConfig config;
    config.json = true;
    config.timestamps = true;
    LogCapture cap(config);
    Logger("store").info("saved");
    REQUIRE(cap.lines.size() == 1);
    const auto doc = nlohmann::json::parse(cap.lines[0], nullptr, false);
    REQUIRE_FALSE(doc.is_discarded());
    const std::string t = doc.at("time").get<std::string>();
    CHECK(t.size() == 20);
    CHECK(t[10] == 'T');
    CHECK(t.back() == 'Z');
  }
  SECTION("text") {
    LogConfig config;
    config.timestamps = true;
    LogCapture cap(config);
    Logger("store").info("saved");
    REQUIRE(cap.lines.size() == 1);
    const std::string& line = cap.lines[0];
    CHECK(line.substr(20) == " info store: saved\n");
    CHECK(line[19] == 'Z');
  }
}

TEST_CASE("parse_log_level accepts the documented names only", "[util][log]") {
  bool ok = false;
  CHECK(parse_log_level("debug", &ok) == LogLevel::debug);
  CHECK(ok);
  CHECK(parse_log_level("info", &ok) == LogLevel::info);
  CHECK(ok);
  CHECK(parse_log_level("warn", &ok) == LogLevel::warn);
  CHECK(parse_log_level("warning", &ok) == LogLevel::warn);
  CHECK(ok);
  CHECK(parse_log_level("error", &ok) == LogLevel::error);
  CHECK(parse_log_level("off", &ok) == LogLevel::off);
  CHECK(parse_log_level("quiet", &ok) == LogLevel::off);
  CHECK(ok);
  parse_log_level("verbose", &ok);
  CHECK_FALSE(ok);
  parse_log_level("", &ok);
  CHECK_FALSE(ok);
  parse_log_level("DEBUG", &ok);  // case-sensitive
  CHECK_FALSE(ok);
}

TEST_CASE("Secret prints <redacted> and is read only with reveal()", "[util][log]") {
  const SecretString key("hunter2-tsig-secret");
  std::ostringstream os;
  os << key;
  CHECK(os.str() == "<redacted>");
  CHECK(to_string(key) == "<redacted>");
  CHECK(key.reveal() == "hunter2-tsig-secret");
  CHECK_FALSE(key.empty());
  CHECK(SecretString().empty());

  LogCapture cap(LogConfig{});
  Logger("dns").info("tsig key loaded", {{"key", to_string(key)}});
  REQUIRE(cap.lines.size() == 1);
  CHECK(cap.lines[0] == "info dns: tsig key loaded key=<redacted>\n");
  CHECK(cap.lines[0].find("hunter2") == std::string::npos);
}

TEST_CASE("set_log_sink(nullptr) restores stderr output", "[util][log]") {
  std::vector<std::string> lines;
  set_log_sink([&](std::string_view l) { lines.emplace_back(l); });
  Logger("x").info("one");
  set_log_sink(nullptr);
  Logger("x").info("to stderr, not captured");
  CHECK(lines.size() == 1);
}
