#include "util/log.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <mutex>

#include "util/strings.hpp"

namespace certpilot::util {
namespace {

LogConfig g_config;
std::mutex g_sink_mu;
std::function<void(std::string_view)> g_sink;  // guarded by g_sink_mu
std::atomic<bool> g_has_sink{false};


bool needs_quotes(std::string_view v) {
  if (v.empty()) {
    return true;
  }
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) {
      return true;
    }
  }
  return false;
}

void append_text_value(std::string& out, std::string_view v) {
  if (!needs_quotes(v)) {
    out.append(v);
    return;
  }
  out.append(json_quote(v));
}

std::string timestamp() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

void configure_logging(const LogConfig& config) { g_config = config; }
const LogConfig& logging_config() { return g_config; }

std::string_view to_string(LogLevel level) {
  switch (level) {
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warn: return "warn";
    case LogLevel::error: return "error";
    case LogLevel::off: return "off";
  }
  return "info";
}

LogLevel parse_log_level(std::string_view name, bool* ok) {
  *ok = true;
  if (name == "debug") return LogLevel::debug;
  if (name == "info") return LogLevel::info;
  if (name == "warn" || name == "warning") return LogLevel::warn;
  if (name == "error") return LogLevel::error;
  if (name == "off" || name == "quiet") return LogLevel::off;
  *ok = false;
  return LogLevel::info;
}

void set_log_sink(std::function<void(std::string_view)> sink) {
  std::lock_guard lock(g_sink_mu);
  g_sink = std::move(sink);
  g_has_sink = static_cast<bool>(g_sink);
}

bool Logger::enabled(LogLevel level) const { return level >= g_config.level && level != LogLevel::off; }

void Logger::write(LogLevel level, std::string_view msg, LogFields fields) const {
  if (!enabled(level)) {
    return;
  }
  write_log_line(level, module_, msg, fields);
}

void write_log_line(LogLevel level, std::string_view module_, std::string_view msg, LogFields fields) {
  std::string line;
  line.reserve(128);
  if (g_config.json) {
    line.append("{");
    if (g_config.timestamps) {
      line.append("\"time\":").append(json_quote(timestamp())).append(",");
    }
    line.append("\"level\":").append(json_quote(to_string(level)));
    line.append(",\"module\":").append(json_quote(module_));
    line.append(",\"msg\":").append(json_quote(msg));
    for (const auto& f : fields) {
      line.append(",").append(json_quote(f.key)).append(":").append(json_quote(f.value));
    }
    line.append("}\n");
  } else {
    if (g_config.timestamps) {
      line.append(timestamp()).append(" ");
    }
    line.append(to_string(level)).append(" ").append(module_).append(": ").append(msg);
    for (const auto& f : fields) {
      line.append(" ").append(f.key).append("=");
      append_text_value(line, f.value);
    }
    line.append("\n");
  }
  if (g_has_sink) {
    std::lock_guard lock(g_sink_mu);
    if (g_sink) {
      g_sink(line);
      return;
    }
  }
  // One write(2) per line: lines from threads never interleave. A failed write has nowhere to go.
  const ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
  (void)n;
}

}  // namespace certpilot::util
