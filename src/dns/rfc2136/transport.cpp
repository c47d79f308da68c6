#include "dns/rfc2136/transport.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>

#include "util/unique_fd.hpp"

namespace certpilot::dns::rfc2136 {

using util::Errc;
using util::fail;
using util::Result;

namespace {

struct Address {
  sockaddr_storage storage{};
  socklen_t len = 0;
};

Result<Address> parse_server(const std::string& server) {
  std::string host;
  std::string port = "53";
  if (!server.empty() && server.front() == '[') {
    const auto close = server.find(']');
    if (close == std::string::npos) return fail(Errc::invalid_input, "server \"" + server + "\": missing ]");
    host = server.substr(1, close - 1);
    if (close + 1 < server.size() && server[close + 1] == ':') port = server.substr(close + 2);
  } else if (std::count(server.begin(), server.end(), ':') == 1) {
    host = server.substr(0, server.find(':'));
    port = server.substr(server.find(':') + 1);
  } else {
    host = server;
  }
  char* end = nullptr;
  const long p = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || p <= 0 || p > 65535) {
    return fail(Errc::invalid_input, "server \"" + server + "\": bad port");
  }
  Address a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<std::uint16_t>(p));
    a.len = sizeof(sockaddr_in);
  } else if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<std::uint16_t>(p));
    a.len = sizeof(sockaddr_in6);
  } else {
    return fail(Errc::invalid_input, "server \"" + server + "\": not an IP address");
  }
  return a;
}

Result<void> wait_for(int fd, short events, std::chrono::steady_clock::time_point deadline, const std::string& what) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    // A server that never answers is unreachable, like one that refuses: Errc::network (exit 4,
    // "the CA or a server unreachable"), not Errc::timeout, which means "waited for an outcome".
    if (left.count() <= 0) return fail(Errc::network, what + ": no answer in time");
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n > 0) return util::ok();
    if (n < 0 && errno != EINTR) return fail(Errc::network, what + ": poll: " + std::strerror(errno));
  }
}

std::string sys_error(const std::string& what) {
  return what + ": " + (errno == ECONNREFUSED ? std::string("connection refused (is the server running?)") : std::strerror(errno));
}

bool same_id(const std::string& a, const std::string& b) { return a.size() >= 2 && b.size() >= 2 && a[0] == b[0] && a[1] == b[1]; }

Result<std::string> exchange_udp(const Address& addr, const std::string& server, const std::string& request,
                                 std::chrono::steady_clock::time_point deadline) {
  util::UniqueFd fd(::socket(addr.storage.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return fail(Errc::network, sys_error("UDP socket"));
  // connect() so an ICMP port-unreachable comes back as ECONNREFUSED instead of a timeout.
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr.storage), addr.len) != 0 ||
      ::send(fd.get(), request.data(), request.size(), 0) < 0) {
    return fail(Errc::network, sys_error("UDP to " + server));
  }
  std::string buf(65535, '\0');
  for (;;) {
    if (auto w = wait_for(fd.get(), POLLIN, deadline, "UDP to " + server); !w) return fail(w.error());
    const ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
    if (n < 0) return fail(Errc::network, sys_error("UDP from " + server));
    std::string answer = buf.substr(0, static_cast<std::size_t>(n));
    if (same_id(answer, request)) return answer;  // else a stray datagram: keep waiting
  }
}

Result<void> send_all(int fd, const std::string& data, const std::string& server) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0) return fail(Errc::network, sys_error("TCP to " + server));
    sent += static_cast<std::size_t>(n);
  }
  return util::ok();
}

Result<std::string> recv_exact(int fd, std::size_t len, std::chrono::steady_clock::time_point deadline,
                               const std::string& server) {
  std::string out;
  char buf[4096];
  while (out.size() < len) {
    if (auto w = wait_for(fd, POLLIN, deadline, "TCP from " + server); !w) return fail(w.error());
    const ssize_t n = ::recv(fd, buf, std::min(sizeof buf, len - out.size()), 0);
    if (n < 0) return fail(Errc::network, sys_error("TCP from " + server));
    if (n == 0) return fail(Errc::network, "TCP from " + server + ": connection closed before the whole answer");
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

Result<std::string> exchange_tcp(const Address& addr, const std::string& server, const std::string& request,
                                 std::chrono::steady_clock::time_point deadline) {
  util::UniqueFd fd(::socket(addr.storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (fd.get() < 0) return fail(Errc::network, sys_error("TCP socket"));
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr.storage), addr.len) != 0 && errno != EINPROGRESS) {
    return fail(Errc::network, sys_error("TCP to " + server));
  }
  if (auto w = wait_for(fd.get(), POLLOUT, deadline, "TCP connect to " + server); !w) return fail(w.error());
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    errno = err;
    return fail(Errc::network, sys_error("TCP to " + server));
  }
  std::string framed;
  framed.push_back(static_cast<char>(request.size() >> 8));
  framed.push_back(static_cast<char>(request.size() & 0xff));
  framed += request;
  if (auto s = send_all(fd.get(), framed, server); !s) return fail(s.error());
  CERTPILOT_TRY(auto prefix, recv_exact(fd.get(), 2, deadline, server), "reading the answer length");
  const std::size_t n = (static_cast<unsigned char>(prefix[0]) << 8) | static_cast<unsigned char>(prefix[1]);
  CERTPILOT_TRY(auto answer, recv_exact(fd.get(), n, deadline, server), "reading the answer");
  if (!same_id(answer, request)) return fail(Errc::dns, "TCP from " + server + ": answer with another id");
  return answer;
}

}  // namespace

Result<std::string> exchange(const std::string& server, const std::string& request, std::chrono::milliseconds timeout) {
  CERTPILOT_TRY(auto addr, parse_server(server), "DNS exchange");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  if (request.size() > 512) return exchange_tcp(addr, server, request, deadline);
  auto answer = exchange_udp(addr, server, request, deadline);
  if (!answer) return answer;
  const bool truncated = answer->size() >= 3 && (static_cast<unsigned char>((*answer)[2]) & 0x02) != 0;
  if (!truncated) return answer;
  return exchange_tcp(addr, server, request, deadline);
}

}  // namespace certpilot::dns::rfc2136
