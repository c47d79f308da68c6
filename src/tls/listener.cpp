#include "tls/listener.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>

#include "tls/detail/context.hpp"
#include "tls/detail/worker.hpp"

namespace certpilot::tls {

using util::Errc;
using util::fail;

namespace {
const util::Logger kLog("tls");
constexpr int kBacklog = 4096;
}  // namespace

Result<std::unique_ptr<Listener>> Listener::create(ListenerOptions options, const TlsSettings& settings,
                                                   const CertPublisher& publisher) {
  // OpenSSL writes through write(2), not send(MSG_NOSIGNAL): a peer that resets must cost us an
  // EPIPE on that connection, not the process.
  ::signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<Listener> listener(new Listener());
  auto shared = std::make_unique<detail::Shared>();
  shared->publisher = &publisher;
  if (options.threads <= 0) {
    options.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  if (options.buffer_size < 1024) {
    options.buffer_size = 1024;
  }
  if (!options.plaintext) {
    CERTPILOT_TRY(shared->front, detail::new_server_context(settings), "listener");
    SSL_CTX_set_tlsext_servername_callback(shared->front.get(), &detail::on_servername);
    SSL_CTX_set_tlsext_servername_arg(shared->front.get(), shared.get());
    if (settings.session_tickets) {
      // Ticket keys and the session cache live on the front context: OpenSSL uses the context a
      // connection started on (its session_ctx) for both, even after SNI switched the certificate,
      // so resumption survives certificate swaps.
      SSL_CTX_set_tlsext_ticket_key_evp_cb(shared->front.get(), &detail::on_ticket_key);
      shared->tickets_on = true;
      shared->ticket_rotation = std::max(settings.ticket_key_rotation, std::chrono::seconds(1));
    }
  }
  if (!options.backend.empty()) {
    CERTPILOT_TRY(auto addrs, detail::resolve(options.backend, false), "backend");
    shared->backend = addrs.front();
    shared->has_backend = true;
  }
  // Resolve and bind everything now, so a busy or privileged port fails here with its address.
  std::vector<std::vector<int>> fds(static_cast<std::size_t>(options.threads));
  auto close_all = [&fds] {
    for (auto& v : fds) {
      for (int fd : v) {
        ::close(fd);
      }
    }
  };
  for (const auto& spec : options.listen) {
    auto addrs = detail::resolve(spec, true);
    if (!addrs) {
      close_all();
      return fail(addrs.error().wrapped("listen"));
    }
    detail::SocketAddress addr = addrs->front();
    if (auto free = detail::ensure_unused(addr); !free) {
      close_all();
      return fail(free.error());
    }
    for (int t = 0; t < options.threads; ++t) {
      auto fd = detail::listen_on(addr, kBacklog);
      if (!fd) {
        close_all();
        return fail(fd.error());
      }
      fds[static_cast<std::size_t>(t)].push_back(*fd);
      if (t == 0 && addr.port() == 0) {
        // Port 0: the other loops' sockets must join the port the kernel picked.
        addr.length = sizeof addr.storage;
        ::getsockname(*fd, reinterpret_cast<sockaddr*>(&addr.storage), &addr.length);
      }
    }
    listener->ports_.push_back(addr.port());
  }
  shared->options = std::move(options);
  for (int t = 0; t < shared->options.threads; ++t) {
    auto worker = std::make_unique<detail::Worker>(*shared, std::move(fds[static_cast<std::size_t>(t)]), t);
    if (auto r = worker->init(); !r) {
      // Workers made so far close their own sockets; the rest are still ours.
      for (auto k = static_cast<std::size_t>(t) + 1; k < fds.size(); ++k) {
        for (int fd : fds[k]) {
          ::close(fd);
        }
      }
      return fail(r.error());
    }
    listener->workers_.push_back(std::move(worker));
  }
  listener->shared_ = std::move(shared);
  return listener;
}

Listener::~Listener() { stop(); }

void Listener::start() {
  if (started_) {
    return;
  }
  started_ = true;
  for (auto& w : workers_) {
    threads_.emplace_back([worker = w.get()] { worker->run(); });
  }
  std::string ports;
  for (auto p : ports_) {
    ports += (ports.empty() ? "" : ",") + std::to_string(p);
  }
  kLog.info("listening", {{"ports", ports},
                          {"threads", static_cast<int>(workers_.size())},
                          {"mode", shared_->options.backend.empty() ? "responder" : "proxy"},
                          {"tls", shared_->options.plaintext ? "off" : "on"}});
}

void Listener::stop() {
  for (auto& w : workers_) {
    w->request_stop();
  }
  for (auto& t : threads_) {
    if (t.joinable()) {
      t.join();
    }
  }
  threads_.clear();
}

ListenerStats Listener::stats() const {
  ListenerStats s;
  s.accepted = shared_->accepted.load();
  s.handshakes = shared_->handshakes.load();
  s.resumed = shared_->resumed.load();
  s.handshake_failures = shared_->handshake_failures.load();
  s.rejected = shared_->rejected.load();
  s.backend_failures = shared_->backend_failures.load();
  s.active = static_cast<std::uint64_t>(std::max<std::int64_t>(0, shared_->active.load()));
  return s;
}

Result<bool> is_loopback_address(std::string_view host_port) {
  CERTPILOT_TRY(auto addrs, detail::resolve(host_port, true), "address");
  return std::all_of(addrs.begin(), addrs.end(), [](const detail::SocketAddress& a) { return a.is_loopback(); });
}

void Listener::rotate_ticket_keys() { shared_->tickets.rotate(); }

}  // namespace certpilot::tls
