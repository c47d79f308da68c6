#pragma once
// Socket addresses and sockets for the listener.
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace certpilot::tls::detail {

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  std::uint16_t port() const;
  bool is_loopback() const;
};

// "host:port" or "[v6]:port"; host may be a name. passive: for bind ("0.0.0.0", "::", "*" allowed).
util::Result<std::vector<SocketAddress>> resolve(std::string_view host_port, bool passive);
// "127.0.0.1:443", "[::1]:443".
std::string to_string(const sockaddr* addr);
// Non-blocking listening socket with SO_REUSEADDR and SO_REUSEPORT (one per event loop).
util::Result<int> listen_on(const SocketAddress& addr, int backlog);
// Fails (Errc::invalid_input) when something already listens on addr. Needed because SO_REUSEPORT
// would otherwise let a second certpilot (same user) join the port and silently take half the
// connections; nginx, for one, fails to start instead. Port 0 always passes.
util::Result<void> ensure_unused(const SocketAddress& addr);

// PROXY protocol v2 header (https://www.haproxy.org/download/2.8/doc/proxy-protocol.txt §2.2):
// PROXY command, TCP over IPv4 or IPv6 (both addresses must be the same family, else a LOCAL
// header is sent), with PP2_TYPE_ALPN and PP2_TYPE_AUTHORITY TLVs when not empty.
std::string proxy_v2_header(const sockaddr* client, const sockaddr* local, std::string_view alpn,
                            std::string_view authority);

}  // namespace certpilot::tls::detail
