#include "tls/detail/net.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace certpilot::tls::detail {

using util::Errc;
using util::fail;

std::uint16_t SocketAddress::port() const {
  if (storage.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  }
  if (storage.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  }
  return 0;
}

bool SocketAddress::is_loopback() const {
  if (storage.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&storage);
    return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
  }
  if (storage.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&storage);
    return IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
  }
  return false;
}

util::Result<std::vector<SocketAddress>> resolve(std::string_view host_port, bool passive) {
  std::string host;
  std::string port;
  if (!host_port.empty() && host_port.front() == '[') {
    const auto close = host_port.find(']');
    if (close == std::string_view::npos || close + 1 >= host_port.size() || host_port[close + 1] != ':') {
      return fail(Errc::invalid_input, "address \"" + std::string(host_port) + "\": expected [v6-address]:port");
    }
    host = std::string(host_port.substr(1, close - 1));
    port = std::string(host_port.substr(close + 2));
  } else {
    const auto colon = host_port.rfind(':');
    if (colon == std::string_view::npos) {
      return fail(Errc::invalid_input, "address \"" + std::string(host_port) + "\": expected host:port");
    }
    host = std::string(host_port.substr(0, colon));
    port = std::string(host_port.substr(colon + 1));
  }
  if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 ||
      std::stoi(port) > 65535) {
    return fail(Errc::invalid_input, "address \"" + std::string(host_port) + "\": bad port \"" + port + "\"");
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
  addrinfo* res = nullptr;
  const char* node = (host.empty() || host == "*") ? nullptr : host.c_str();
  if (const int rc = getaddrinfo(node, port.c_str(), &hints, &res); rc != 0) {
    return fail(Errc::invalid_input, "address \"" + std::string(host_port) + "\": " + gai_strerror(rc));
  }
  std::vector<SocketAddress> out;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    SocketAddress a;
    std::memcpy(&a.storage, ai->ai_addr, ai->ai_addrlen);
    a.length = ai->ai_addrlen;
    out.push_back(a);
  }
  freeaddrinfo(res);
  if (out.empty()) {
    return fail(Errc::invalid_input, "address \"" + std::string(host_port) + "\": no address");
  }
  return out;
}

std::string to_string(const sockaddr* addr) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (addr->sa_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(addr);
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(ntohs(a->sin_port));
  }
  if (addr->sa_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(addr);
    inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
    return "[" + std::string(buf) + "]:" + std::to_string(ntohs(a->sin6_port));
  }
  return "?";
}

util::Result<void> ensure_unused(const SocketAddress& addr) {
  if (addr.port() == 0) return util::ok();
  const std::string where = to_string(addr.get());
  const int fd = ::socket(addr.storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(Errc::io, "listen on " + where + ": socket: " + std::strerror(errno));
  // SO_REUSEADDR (not REUSEPORT): connections of an earlier run in TIME_WAIT do not count, a
  // listening socket does, whoever owns it.
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  const int rc = ::bind(fd, addr.get(), addr.length);
  const int err = errno;
  ::close(fd);
  if (rc != 0 && err == EADDRINUSE) {
    return fail(Errc::invalid_input, "listen on " + where + ": " + std::strerror(err) +
                                         "; another program listens there: stop it or choose another address");
  }
  return util::ok();  // other errors (EACCES, ...) are reported by listen_on with the real socket
}

util::Result<int> listen_on(const SocketAddress& addr, int backlog) {
  const std::string where = to_string(addr.get());
  const int fd = ::socket(addr.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return fail(Errc::io, "listen on " + where + ": socket: " + std::strerror(errno));
  }
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  // One socket per event loop: the kernel spreads connections over them without a shared lock.
  if (::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
      ::bind(fd, addr.get(), addr.length) != 0 || ::listen(fd, backlog) != 0) {
    const int err = errno;
    ::close(fd);
    // Both are the operator's setting to change, not a local-files problem (exit 2, not 3).
    if (err == EADDRINUSE) {
      return fail(Errc::invalid_input, "listen on " + where + ": " + std::strerror(err) +
                                           "; another program listens there: stop it or choose another address");
    }
    if (err == EACCES) {
      return fail(Errc::invalid_input, "listen on " + where + ": " + std::strerror(err) +
                                           "; ports below 1024 need root or CAP_NET_BIND_SERVICE");
    }
    return fail(Errc::io, "listen on " + where + ": " + std::strerror(err));
  }
  return fd;
}

std::string proxy_v2_header(const sockaddr* client, const sockaddr* local, std::string_view alpn,
                            std::string_view authority) {
  static constexpr char kSignature[] = "\r\n\r\n\0\r\nQUIT\n";
  std::string out(kSignature, 12);
  std::string body;
  unsigned char family = 0x00;  // UNSPEC: with command LOCAL the receiver ignores the addresses
  if (client->sa_family == AF_INET && local->sa_family == AF_INET) {
    family = 0x11;  // TCP over IPv4
    const auto* c = reinterpret_cast<const sockaddr_in*>(client);
    const auto* l = reinterpret_cast<const sockaddr_in*>(local);
    body.append(reinterpret_cast<const char*>(&c->sin_addr), 4);
    body.append(reinterpret_cast<const char*>(&l->sin_addr), 4);
    body.append(reinterpret_cast<const char*>(&c->sin_port), 2);  // already network order
    body.append(reinterpret_cast<const char*>(&l->sin_port), 2);
  } else if (client->sa_family == AF_INET6 && local->sa_family == AF_INET6) {
    family = 0x21;  // TCP over IPv6
    const auto* c = reinterpret_cast<const sockaddr_in6*>(client);
    const auto* l = reinterpret_cast<const sockaddr_in6*>(local);
    body.append(reinterpret_cast<const char*>(&c->sin6_addr), 16);
    body.append(reinterpret_cast<const char*>(&l->sin6_addr), 16);
    body.append(reinterpret_cast<const char*>(&c->sin6_port), 2);
    body.append(reinterpret_cast<const char*>(&l->sin6_port), 2);
  }
  auto tlv = [&body](unsigned char type, std::string_view value) {
    if (value.empty() || value.size() > 0xffff) {
      return;
    }
    body.push_back(static_cast<char>(type));
    body.push_back(static_cast<char>((value.size() >> 8) & 0xff));
    body.push_back(static_cast<char>(value.size() & 0xff));
    body.append(value);
  };
  if (family != 0x00) {
    tlv(0x01, alpn);       // PP2_TYPE_ALPN
    tlv(0x02, authority);  // PP2_TYPE_AUTHORITY: the SNI the client sent
  }
  out.push_back(static_cast<char>(family != 0x00 ? 0x21 : 0x20));  // version 2, PROXY (or LOCAL)
  out.push_back(static_cast<char>(family));
  out.push_back(static_cast<char>((body.size() >> 8) & 0xff));
  out.push_back(static_cast<char>(body.size() & 0xff));
  out.append(body);
  return out;
}

}  // namespace certpilot::tls::detail
