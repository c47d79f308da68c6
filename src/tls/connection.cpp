// One connection's state machine: TLS handshake, then either the built-in responder or a proxy to
// the backend, bytes both ways with half-close. Level-triggered epoll: after every event drive()
// makes all the progress it can, then asks for exactly the events it is blocked on.
#include <openssl/err.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "tls/detail/worker.hpp"

namespace certpilot::tls::detail {

namespace {

const util::Logger kLog("tls");

enum class Io { ok, blocked, eof, error };

std::string ssl_failure(SSL* ssl, int ret, const char* what) {
  const int err = SSL_get_error(ssl, ret);
  if (err == SSL_ERROR_SYSCALL) {
    const int e = errno;
    ERR_clear_error();
    return e == 0 ? std::string(what) + ": the client closed the connection" : std::string(what) + ": " + std::strerror(e);
  }
  return std::string(what) + ": " + crypto::drain_openssl_errors();
}

// Maps an SSL call's failure onto Io, recording which readiness would unblock it.
Io ssl_status(Connection& c, int ret, Block& block, std::string& why, const char* what) {
  switch (SSL_get_error(c.ssl.get(), ret)) {
    case SSL_ERROR_WANT_READ: block = Block::read; return Io::blocked;
    case SSL_ERROR_WANT_WRITE: block = Block::write; return Io::blocked;
    case SSL_ERROR_ZERO_RETURN: ERR_clear_error(); return Io::eof;
    default: why = ssl_failure(c.ssl.get(), ret, what); return Io::error;
  }
}

Io read_client_into(Connection& c, std::string& why, bool* progress);

Io read_client(Connection& c, std::string& why, bool* progress) {
  const Io st = read_client_into(c, why, progress);
  c.up.trim();
  return st;
}

Io read_client_into(Connection& c, std::string& why, bool* progress) {
  const std::size_t cap = c.worker->shared().options.buffer_size;
  c.read_block = Block::none;
  while (!c.client_eof && c.up.space(cap) > 0) {
    std::size_t room = 0;
    char* p = c.up.tail(cap, &room);
    std::size_t n = 0;
    if (c.ssl) {
      const int ret = SSL_read_ex(c.ssl.get(), p, room, &n);
      if (ret != 1) {
        const Io st = ssl_status(c, ret, c.read_block, why, "read from client");
        if (st == Io::eof) {
          c.client_eof = true;
          *progress = true;
        }
        return st == Io::eof ? Io::ok : st;
      }
    } else {
      const ssize_t r = ::recv(c.client.fd, p, room, 0);
      if (r < 0) {
        if (errno == EAGAIN || errno == EINTR) {
          c.read_block = Block::read;
          return Io::blocked;
        }
        why = std::string("read from client: ") + std::strerror(errno);
        return Io::error;
      }
      if (r == 0) {
        c.client_eof = true;
        *progress = true;
        return Io::ok;
      }
      n = static_cast<std::size_t>(r);
    }
    c.up.commit(n);
    *progress = true;
  }
  return Io::ok;
}

Io write_client(Connection& c, std::string& why, bool* progress) {
  c.write_block = Block::none;
  while (!c.down.empty()) {
    std::size_t n = 0;
    if (c.ssl) {
      const int ret = SSL_write_ex(c.ssl.get(), c.down.data(), c.down.size(), &n);
      if (ret != 1) {
        return ssl_status(c, ret, c.write_block, why, "write to client");
      }
    } else {
      const ssize_t r = ::send(c.client.fd, c.down.data(), c.down.size(), MSG_NOSIGNAL);
      if (r < 0) {
        if (errno == EAGAIN || errno == EINTR) {
          c.write_block = Block::write;
          return Io::blocked;
        }
        why = std::string("write to client: ") + std::strerror(errno);
        return Io::error;
      }
      n = static_cast<std::size_t>(r);
    }
    c.down.consume(n);
    *progress = true;
  }
  return Io::ok;
}

// Sends close_notify (or FIN without TLS) once everything queued for the client has gone.
Io shut_client(Connection& c, std::string& why) {
  if (c.ssl) {
    const int ret = SSL_shutdown(c.ssl.get());
    if (ret < 0) {
      const Io st = ssl_status(c, ret, c.write_block, why, "close_notify");
      if (st != Io::blocked) {
        c.client_shut = true;  // the peer is gone; nothing more to say
      }
      return st == Io::blocked ? st : Io::ok;
    }
  } else {
    ::shutdown(c.client.fd, SHUT_WR);
  }
  c.client_shut = true;
  return Io::ok;
}

Io pump_backend(Connection& c, std::string& why, bool* progress) {
  const std::size_t cap = c.worker->shared().options.buffer_size;
  c.backend_write_blocked = false;
  while (!c.up.empty()) {
    const ssize_t r = ::send(c.backend.fd, c.up.data(), c.up.size(), MSG_NOSIGNAL);
    if (r < 0) {
      if (errno == EAGAIN || errno == EINTR) {
        c.backend_write_blocked = true;
        break;
      }
      why = std::string("write to backend: ") + std::strerror(errno);
      return Io::error;
    }
    c.up.consume(static_cast<std::size_t>(r));
    *progress = true;
  }
  if (c.client_eof && c.up.empty() && !c.backend_shut) {
    ::shutdown(c.backend.fd, SHUT_WR);  // half-close: the backend sees the client's end of stream
    c.backend_shut = true;
    *progress = true;
  }
  while (!c.backend_eof && c.down.space(cap) > 0) {
    std::size_t room = 0;
    char* p = c.down.tail(cap, &room);
    const ssize_t r = ::recv(c.backend.fd, p, room, 0);
    if (r < 0) {
      if (errno == EAGAIN || errno == EINTR) {
        break;
      }
      why = std::string("read from backend: ") + std::strerror(errno);
      return Io::error;
    }
    if (r == 0) {
      c.backend_eof = true;
    } else {
      c.down.commit(static_cast<std::size_t>(r));
    }
    *progress = true;
  }
  c.down.trim();
  return Io::ok;
}

void start_backend(Connection& c) {
  Shared& sh = c.worker->shared();
  const int fd = ::socket(sh.backend.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    sh.backend_failures.fetch_add(1, std::memory_order_relaxed);
    c.worker->close(&c, util::LogLevel::warn, "backend socket", std::strerror(errno));
    return;
  }
  c.backend.fd = fd;
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (sh.options.proxy_protocol) {
    std::string alpn;
    if (c.ssl) {
      const unsigned char* proto = nullptr;
      unsigned int len = 0;
      SSL_get0_alpn_selected(c.ssl.get(), &proto, &len);
      alpn.assign(reinterpret_cast<const char*>(proto), len);
    }
    // Goes out before any client byte: up is empty here (the handshake consumed only TLS records).
    // Asked for here, not kept per connection: only the PROXY header needs it (136 bytes and a
    // syscall saved on every connection of the responder and of plain proxying).
    SocketAddress local;
    local.length = sizeof local.storage;
    ::getsockname(c.client.fd, reinterpret_cast<sockaddr*>(&local.storage), &local.length);
    const std::string header = proxy_v2_header(c.peer.get(), local.get(), alpn, c.sni);
    c.up.append(header, std::max(sh.options.buffer_size, header.size()));
  }
  if (::connect(fd, sh.backend.get(), sh.backend.length) == 0) {
    c.phase = Phase::open;
  } else if (errno == EINPROGRESS) {
    c.phase = Phase::connecting;
  } else {
    sh.backend_failures.fetch_add(1, std::memory_order_relaxed);
    c.worker->close(&c, util::LogLevel::warn, "backend unreachable", std::strerror(errno));
  }
}

void handshake_done(Connection& c) {
  Shared& sh = c.worker->shared();
  if (c.ssl) {
    sh.handshakes.fetch_add(1, std::memory_order_relaxed);
    if (SSL_session_reused(c.ssl.get()) == 1) {
      sh.resumed.fetch_add(1, std::memory_order_relaxed);
    }
  }
  c.worker->enter_open(&c);
  c.phase = Phase::open;
  if (sh.has_backend) {
    start_backend(c);
  }
}

void drive(Connection& c) {
  Shared& sh = c.worker->shared();
  std::string why;
  if (c.phase == Phase::handshake) {
    const int ret = SSL_do_handshake(c.ssl.get());
    if (ret != 1) {
      if (ssl_status(c, ret, c.read_block, why, "handshake") == Io::blocked) {
        c.worker->set_events(c.client, c.read_block == Block::read ? EPOLLIN : EPOLLOUT);
      } else {
        c.worker->close(&c, util::LogLevel::info, "handshake failed", why);
      }
      return;
    }
    handshake_done(c);
    if (c.phase == Phase::closed) {
      return;
    }
  }
  bool progress = true;
  while (progress && c.phase != Phase::closed) {
    progress = false;
    const bool was_open = c.phase == Phase::open;
    Io st = Io::ok;
    if (!sh.has_backend) {
      // Responder: one request at a time; pipelined ones wait in `up` until the answer went out.
      c.read_block = Block::none;
      if (c.down.empty() && !c.close_after_write) {
        st = read_client(c, why, &progress);
        if (st != Io::error && !respond(c)) {
          c.close_after_write = true;
        }
        progress = progress || !c.down.empty();
      }
    } else {
      st = read_client(c, why, &progress);
      if (st != Io::error && c.phase == Phase::open) {
        if (pump_backend(c, why, &progress) == Io::error) {
          sh.backend_failures.fetch_add(1, std::memory_order_relaxed);
          c.worker->close(&c, util::LogLevel::warn, "backend failed", why);
          return;
        }
      }
    }
    if (st == Io::error) {
      c.worker->close(&c, util::LogLevel::info, "client failed", why);
      return;
    }
    if (write_client(c, why, &progress) == Io::error) {
      c.worker->close(&c, util::LogLevel::info, "client failed", why);
      return;
    }
    const bool nothing_more = sh.has_backend ? c.backend_eof : (c.client_eof || c.close_after_write);
    if (nothing_more && c.down.empty() && !c.client_shut) {
      if (shut_client(c, why) == Io::blocked) {
        break;
      }
      progress = true;
    }
    if (progress && was_open) {
      c.worker->touch(&c);
    }
  }
  const bool done = sh.has_backend ? (c.client_shut && c.backend_shut) : c.client_shut;
  if (done) {
    c.worker->close(&c, util::LogLevel::debug, "finished");
    return;
  }
  // Ask for exactly what the blocked calls wait for.
  std::uint32_t client_ev = 0;
  for (Block b : {c.read_block, c.write_block}) {
    client_ev |= b == Block::read ? EPOLLIN : b == Block::write ? EPOLLOUT : 0u;
  }
  c.worker->set_events(c.client, client_ev);
  if (c.backend.fd >= 0) {
    std::uint32_t backend_ev = 0;
    if (c.phase == Phase::connecting || c.backend_write_blocked) {
      backend_ev |= EPOLLOUT;
    }
    if (c.phase == Phase::open && !c.backend_eof && c.down.space(sh.options.buffer_size) > 0) {
      backend_ev |= EPOLLIN;
    }
    c.worker->set_events(c.backend, backend_ev);
  }
}

}  // namespace

int on_servername(SSL* ssl, int* alert, void* arg) {
  const auto* sh = static_cast<const Shared*>(arg);
  auto* c = static_cast<Connection*>(SSL_get_app_data(ssl));
  // One snapshot per handshake: the context chosen here and the info the responder shows agree.
  CertSetPtr set = sh->publisher->snapshot();
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  c->sni = name != nullptr ? normalize_name(name) : std::string();
  SSL_CTX* ctx = set ? set->select(c->sni) : nullptr;
  if (ctx == nullptr) {
    *alert = SSL_AD_UNRECOGNIZED_NAME;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  // The SSL takes its own reference to ctx: a swap right now cannot free it under this connection.
  if (SSL_set_SSL_CTX(ssl, ctx) == nullptr) {
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  c->set = std::move(set);
  return SSL_TLSEXT_ERR_OK;
}

int on_ticket_key(SSL* ssl, unsigned char key_name[16], unsigned char* iv, EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac,
                  int enc) {
  const auto* c = static_cast<const Connection*>(SSL_get_app_data(ssl));
  return c->worker->shared().tickets.handle(key_name, iv, cipher, mac, enc, SSL_version(ssl) == TLS1_3_VERSION);
}

void start_connection(Worker& worker, int fd, const SocketAddress& peer) {
  // Owned by the worker's timer lists from here on; Worker::close hands it to the graveyard.
  auto* c = new Connection();
  c->worker = &worker;
  c->client.conn = c;
  c->client.fd = fd;
  c->backend.conn = c;
  c->peer = peer;
  Shared& sh = worker.shared();
  c->deadline = worker.now() + sh.options.handshake_timeout;
  worker.enter_handshake(c);
  if (!sh.front) {
    handshake_done(*c);  // plaintext: nothing to negotiate
    if (c->phase != Phase::closed) {
      drive(*c);
    }
    return;
  }
  c->ssl.reset(SSL_new(sh.front.get()));
  if (!c->ssl || SSL_set_fd(c->ssl.get(), fd) != 1) {
    worker.close(c, util::LogLevel::warn, "SSL_new", crypto::drain_openssl_errors());
    return;
  }
  SSL_set_app_data(c->ssl.get(), c);
  SSL_set_accept_state(c->ssl.get());
  // No handshake here, even when the ClientHello is already waiting: it is answered when the loop
  // reports it, after the requests of open connections (batch.hpp). Answering it here made one
  // accept batch do up to 64 handshakes in a row ahead of every request that was waiting.
  worker.set_events(c->client, EPOLLIN);
}

void on_event(Connection& c, bool backend_side, std::uint32_t events) {
  if (backend_side && c.phase == Phase::connecting) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(c.backend.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      c.worker->shared().backend_failures.fetch_add(1, std::memory_order_relaxed);
      c.worker->close(&c, util::LogLevel::warn, "backend unreachable", std::strerror(err));
      return;
    }
    c.phase = Phase::open;
  }
  (void)events;  // level-triggered: drive() retries everything and finds out itself
  drive(c);
}

}  // namespace certpilot::tls::detail
