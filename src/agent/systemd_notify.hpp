#pragma once
// sd_notify(3)'s datagram protocol, written out (a dozen lines) rather than linking libsystemd:
// the daemon needs READY, STATUS, WATCHDOG and STOPPING and nothing else. A no-op without
// $NOTIFY_SOCKET (not under systemd).
#include <chrono>
#include <optional>
#include <string>

namespace certpilot::agent {

class SystemdNotifier {
 public:
  // Reads NOTIFY_SOCKET and WATCHDOG_USEC once (agent/ may read the environment).
  SystemdNotifier();
  bool enabled() const { return !socket_path_.empty(); }
  void ready(const std::string& status) const { send("READY=1\nSTATUS=" + status); }
  void status(const std::string& status) const { send("STATUS=" + status); }
  void stopping() const { send("STOPPING=1"); }
  void reloading() const { send("RELOADING=1"); }
  void watchdog() const { send("WATCHDOG=1"); }
  // Half the interval systemd expects pings at, or nullopt without a watchdog.
  std::optional<std::chrono::milliseconds> watchdog_interval() const { return watchdog_; }

 private:
  void send(const std::string& message) const;
  std::string socket_path_;
  std::optional<std::chrono::milliseconds> watchdog_;
};

}  // namespace certpilot::agent
