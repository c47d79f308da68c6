#pragma once
// One line per event: "level module message key=value ...", or one JSON object per line.
// Thread-safe: each line is built first and written with a single write(2) to stderr (or the sink).
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace certpilot::util {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3, off = 4 };

struct LogField {
  std::string_view key;
  std::string value;
  LogField(std::string_view k, std::string v) : key(k), value(std::move(v)) {}
  LogField(std::string_view k, std::string_view v) : key(k), value(v) {}
  LogField(std::string_view k, const char* v) : key(k), value(v ? v : "") {}
  template <class N, class = std::enable_if_t<std::is_arithmetic_v<N>>>
  LogField(std::string_view k, N n) : key(k), value(std::to_string(n)) {}
};
using LogFields = std::initializer_list<LogField>;

struct LogConfig {
  LogLevel level = LogLevel::info;
  bool json = false;
  bool timestamps = false;  // off under systemd: journald stamps each line
};

// Process-wide settings; set once at start-up by cli/, before threads exist.
void configure_logging(const LogConfig& config);
const LogConfig& logging_config();
std::string_view to_string(LogLevel level);  // the name parse_log_level accepts
LogLevel parse_log_level(std::string_view name, bool* ok);
// Replaces the output (tests, or a daemon that forwards lines); nullptr restores stderr.
void set_log_sink(std::function<void(std::string_view line)> sink);

// One line in the configured format, whatever the level setting: a command's final outcome, which
// must reach a --log-json reader even at --log-level off. Loggers go through this too.
void write_log_line(LogLevel level, std::string_view module, std::string_view msg, LogFields fields);

class Logger {
 public:
  explicit Logger(std::string_view module) : module_(module) {}
  void debug(std::string_view msg, LogFields fields = {}) const { write(LogLevel::debug, msg, fields); }
  void info(std::string_view msg, LogFields fields = {}) const { write(LogLevel::info, msg, fields); }
  void warn(std::string_view msg, LogFields fields = {}) const { write(LogLevel::warn, msg, fields); }
  void error(std::string_view msg, LogFields fields = {}) const { write(LogLevel::error, msg, fields); }
  bool enabled(LogLevel level) const;

 private:
  void write(LogLevel level, std::string_view msg, LogFields fields) const;
  std::string_view module_;
};

}  // namespace certpilot::util
