#include "agent/systemd_notify.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace certpilot::agent {

SystemdNotifier::SystemdNotifier() {
  if (const char* s = std::getenv("NOTIFY_SOCKET"); s != nullptr && (s[0] == '/' || s[0] == '@')) socket_path_ = s;
  if (const char* w = std::getenv("WATCHDOG_USEC"); w != nullptr) {
    const long long usec = std::atoll(w);
    const char* pid = std::getenv("WATCHDOG_PID");
    if (usec > 0 && (pid == nullptr || std::atoll(pid) == static_cast<long long>(::getpid()))) {
      watchdog_ = std::chrono::milliseconds(usec / 2000);
    }
  }
}

void SystemdNotifier::send(const std::string& message) const {
  if (socket_path_.empty()) return;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path_.size() >= sizeof addr.sun_path) return;
  std::memcpy(addr.sun_path, socket_path_.data(), socket_path_.size());
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_path_.size());
  // Best effort, as sd_notify: systemd not listening must not stop the daemon.
  (void)::sendto(fd, message.data(), message.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr), len);
  ::close(fd);
}

}  // namespace certpilot::agent
