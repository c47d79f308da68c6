#include "tls/detail/worker.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "tls/detail/batch.hpp"

namespace certpilot::tls::detail {

namespace {
const util::Logger kLog("tls");
constexpr int kMaxEvents = 256;
// Accepting is cheap (the handshake waits for its turn in the loop, see batch.hpp); the cap only
// keeps a flood of connections from starving the rest of one batch.
constexpr int kMaxAcceptsPerWake = 64;
// Stable addresses for the epoll cookies of the non-connection descriptors.
char g_wake_tag;
}  // namespace

char* Buffer::tail(std::size_t cap, std::size_t* room) {
  if (!data_) {
    data_ = std::make_unique<char[]>(cap);
    begin_ = end_ = 0;
  } else if (end_ == cap && begin_ > 0) {
    std::memmove(data_.get(), data_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  *room = cap - end_;
  return data_.get() + end_;
}

void Buffer::consume(std::size_t n) {
  begin_ += n;
  if (begin_ == end_) {
    data_.reset();
    begin_ = end_ = 0;
  }
}

std::size_t Buffer::append(std::string_view bytes, std::size_t cap) {
  if (space(cap) == 0) {
    return 0;
  }
  std::size_t room = 0;
  char* p = tail(cap, &room);
  const std::size_t n = std::min(room, bytes.size());
  std::memcpy(p, bytes.data(), n);
  commit(n);
  return n;
}

void TimerList::push_back(Connection* c) {
  c->prev = tail_;
  c->next = nullptr;
  if (tail_ != nullptr) {
    tail_->next = c;
  } else {
    head_ = c;
  }
  tail_ = c;
}

void TimerList::remove(Connection* c) {
  (c->prev != nullptr ? c->prev->next : head_) = c->next;
  (c->next != nullptr ? c->next->prev : tail_) = c->prev;
  c->prev = c->next = nullptr;
}

Worker::Worker(Shared& shared, std::vector<int> listen_fds, int index)
    : shared_(shared), listen_fds_(std::move(listen_fds)), index_(index) {}

Worker::~Worker() {
  for (int fd : listen_fds_) {
    ::close(fd);
  }
  if (wake_fd_ >= 0) {
    ::close(wake_fd_);
  }
  if (epoll_fd_ >= 0) {
    ::close(epoll_fd_);
  }
}

util::Result<void> Worker::init() {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0) {
    return util::fail(util::Errc::io, std::string("event loop: ") + std::strerror(errno));
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = &g_wake_tag;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  for (int& fd : listen_fds_) {
    ev.events = EPOLLIN;
    ev.data.ptr = &fd;  // the address of our own slot tags a listening socket
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      return util::fail(util::Errc::io, std::string("event loop: epoll_ctl: ") + std::strerror(errno));
    }
  }
  return util::ok();
}

void Worker::request_stop() {
  stop_.store(true);
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
}

void Worker::set_events(Endpoint& ep, std::uint32_t events) {
  if (ep.fd < 0 || ep.registered == events) {
    return;
  }
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = &ep;
  if (ep.registered == 0) {
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, ep.fd, &ev);
  } else if (events == 0) {
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, ep.fd, &ev);
  } else {
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, ep.fd, &ev);
  }
  ep.registered = events;
}

void Worker::touch(Connection* c) {
  if (c->phase == Phase::handshake || c->phase == Phase::closed) {
    return;
  }
  // Cheap enough per event (four pointer writes), and keeps idle_ sorted by deadline.
  idle_.remove(c);
  c->deadline = now_ + shared_.options.idle_timeout;
  idle_.push_back(c);
}

void Worker::enter_open(Connection* c) {
  handshaking_.remove(c);
  c->deadline = now_ + shared_.options.idle_timeout;
  idle_.push_back(c);
}

void Worker::close(Connection* c, util::LogLevel level, std::string_view why, std::string_view detail) {
  if (c->phase == Phase::closed) {
    return;
  }
  if (kLog.enabled(level)) {
    const std::string peer = to_string(c->peer.get());
    util::LogFields fields = {{"peer", peer}, {"sni", c->sni}, {"reason", why}, {"detail", detail}};
    switch (level) {
      case util::LogLevel::error: kLog.error("connection closed", fields); break;
      case util::LogLevel::warn: kLog.warn("connection closed", fields); break;
      case util::LogLevel::info: kLog.info("connection closed", fields); break;
      default: kLog.debug("connection closed", fields); break;
    }
  }
  (c->phase == Phase::handshake ? handshaking_ : idle_).remove(c);
  if (c->phase == Phase::handshake) {
    shared_.handshake_failures.fetch_add(1, std::memory_order_relaxed);
  }
  if (c->ssl && c->phase != Phase::handshake && !c->client_shut) {
    // Best effort close_notify; the socket is closed right after whatever happens.
    SSL_shutdown(c->ssl.get());
  }
  for (Endpoint* ep : {&c->client, &c->backend}) {
    if (ep->fd >= 0) {
      ::close(ep->fd);  // also removes it from epoll
      ep->fd = -1;
    }
  }
  c->ssl.reset();
  c->set.reset();
  c->phase = Phase::closed;
  shared_.active.fetch_sub(1, std::memory_order_relaxed);
  graveyard_.emplace_back(c);  // freed after the current batch: later events may still name it
}

void Worker::accept_all(int listen_fd) {
  for (int i = 0; i < kMaxAcceptsPerWake; ++i) {
    SocketAddress peer;
    peer.length = sizeof peer.storage;
    const int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&peer.storage), &peer.length,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors: stop accepting for a moment instead of spinning on a ready socket.
        kLog.warn("accept paused", {{"reason", std::strerror(errno)}});
        for (int& lfd : listen_fds_) {
          ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, lfd, nullptr);
        }
        accept_paused_ = true;
        accept_paused_until_ = now_ + std::chrono::milliseconds(100);
      }
      return;  // EAGAIN: drained; ECONNABORTED and friends: the next wake retries
    }
    shared_.accepted.fetch_add(1, std::memory_order_relaxed);
    if (static_cast<std::size_t>(shared_.active.load(std::memory_order_relaxed)) >= shared_.options.max_connections) {
      shared_.rejected.fetch_add(1, std::memory_order_relaxed);
      kLog.warn("connection refused: limit reached", {{"peer", to_string(peer.get())},
                                                      {"max_connections", shared_.options.max_connections}});
      ::close(fd);
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    shared_.active.fetch_add(1, std::memory_order_relaxed);
    start_connection(*this, fd, peer);
  }
}

void Worker::expire() {
  while (Connection* c = handshaking_.front()) {
    if (c->deadline > now_) {
      break;
    }
    close(c, util::LogLevel::info, "handshake timeout");
  }
  while (Connection* c = idle_.front()) {
    if (c->deadline > now_) {
      break;
    }
    close(c, util::LogLevel::debug, "idle timeout");
  }
}

int Worker::next_timeout_ms() const {
  Clock::time_point next = now_ + std::chrono::seconds(1);
  for (const Connection* c : {handshaking_.front(), idle_.front()}) {
    if (c != nullptr && c->deadline < next) {
      next = c->deadline;
    }
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(next - now_).count() + 1;
  return static_cast<int>(std::clamp<long long>(ms, 0, 1000));
}

bool Worker::is_new_handshake(const Connection& c) {
  return c.phase == Phase::handshake && c.ssl && SSL_get_state(c.ssl.get()) == TLS_ST_BEFORE;
}

void Worker::run() {
  epoll_event events[kMaxEvents];
  std::vector<std::size_t> held;
  held.reserve(kMaxEvents);
  bool handshakes_waiting = false;
  now_ = Clock::now();
  next_rotation_ = now_ + shared_.ticket_rotation;
  while (!stop_.load()) {
    const int n = ::epoll_wait(epoll_fd_, events, kMaxEvents, handshakes_waiting ? 0 : next_timeout_ms());
    now_ = Clock::now();
    auto endpoint_of = [&](std::size_t i) -> Endpoint* {
      void* tag = events[i].data.ptr;
      if (tag == &g_wake_tag || (tag >= static_cast<void*>(listen_fds_.data()) &&
                                 tag < static_cast<void*>(listen_fds_.data() + listen_fds_.size()))) {
        return nullptr;
      }
      return static_cast<Endpoint*>(tag);
    };
    auto is_new = [&](std::size_t i) {
      const Endpoint* ep = endpoint_of(i);
      return ep != nullptr && is_new_handshake(*ep->conn);
    };
    auto serve = [&](std::size_t i) {
      void* tag = events[i].data.ptr;
      if (tag == &g_wake_tag) {
        return;
      }
      Endpoint* ep = endpoint_of(i);
      if (ep == nullptr) {
        accept_all(*static_cast<int*>(tag));
        return;
      }
      Connection* c = ep->conn;
      if (c->phase != Phase::closed) {
        on_event(*c, ep == &c->backend, events[i].events);
      }
    };
    handshakes_waiting =
        serve_batch(static_cast<std::size_t>(std::max(n, 0)), kNewHandshakesPerWake, is_new, serve, held);
    graveyard_.clear();
    expire();
    graveyard_.clear();
    if (accept_paused_ && now_ >= accept_paused_until_) {
      for (int& fd : listen_fds_) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.ptr = &fd;
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
      }
      accept_paused_ = false;
    }
    if (index_ == 0 && shared_.tickets_on && now_ >= next_rotation_) {
      shared_.tickets.rotate();
      next_rotation_ = now_ + shared_.ticket_rotation;
    }
  }
  for (TimerList* list : {&handshaking_, &idle_}) {
    while (Connection* c = list->front()) {
      close(c, util::LogLevel::debug, "listener stopping");
    }
  }
  graveyard_.clear();
}

}  // namespace certpilot::tls::detail
