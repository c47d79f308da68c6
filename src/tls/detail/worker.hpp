#pragma once
// Listener internals: the state every loop shares, one connection, one event loop.
#include <sys/epoll.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "crypto/ossl.hpp"
#include "tls/detail/net.hpp"
#include "tls/detail/ticket_keys.hpp"
#include "tls/listener.hpp"
#include "util/log.hpp"

namespace certpilot::tls::detail {

using Clock = std::chrono::steady_clock;

struct Shared {
  ListenerOptions options;
  crypto::SslCtxPtr front;  // every connection starts here; null in plaintext mode
  const CertPublisher* publisher = nullptr;
  TicketKeys tickets;
  bool tickets_on = false;
  std::chrono::seconds ticket_rotation{3600};
  SocketAddress backend;
  bool has_backend = false;
  std::atomic<std::uint64_t> accepted{0}, handshakes{0}, resumed{0}, handshake_failures{0}, rejected{0},
      backend_failures{0};
  std::atomic<std::int64_t> active{0};
};

// Bytes waiting to go one way. The storage exists only while bytes wait, so an idle connection
// costs no buffer memory.
class Buffer {
 public:
  std::size_t size() const { return end_ - begin_; }
  bool empty() const { return begin_ == end_; }
  const char* data() const { return data_.get() + begin_; }
  std::size_t space(std::size_t cap) const { return data_ ? cap - end_ + begin_ : cap; }
  // Room for at least one byte, compacting first; call only when space(cap) > 0.
  char* tail(std::size_t cap, std::size_t* room);
  void commit(std::size_t n) { end_ += n; }
  void consume(std::size_t n);
  // Frees the storage when nothing waits in it (after a read that found nothing): 16 KiB per idle
  // connection otherwise.
  void trim() {
    if (begin_ == end_) {
      data_.reset();
      begin_ = end_ = 0;
    }
  }
  // As much of bytes as fits; returns how much that was.
  std::size_t append(std::string_view bytes, std::size_t cap);

 private:
  std::unique_ptr<char[]> data_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

class Worker;
struct Connection;

struct Endpoint {
  Connection* conn = nullptr;
  int fd = -1;
  std::uint32_t registered = 0;  // events currently in epoll (0: not added)
};

// Where a connection stands; the timer list it sits in follows from it.
enum class Phase { handshake, connecting, open, closed };
// Why the last client-side TLS call stopped.
enum class Block { none, read, write };

struct Connection {
  Worker* worker = nullptr;
  Endpoint client;
  Endpoint backend;
  crypto::SslPtr ssl;
  Phase phase = Phase::handshake;
  CertSetPtr set;   // the snapshot the handshake used: what the responder describes
  std::string sni;
  Buffer up;        // client -> backend (request bytes for the responder)
  Buffer down;      // backend (or responder) -> client
  bool client_eof = false;
  bool backend_eof = false;
  bool backend_shut = false;  // FIN sent to the backend
  bool client_shut = false;   // close_notify (or FIN) sent to the client
  bool close_after_write = false;
  Block read_block = Block::none;
  Block write_block = Block::none;
  bool backend_write_blocked = false;
  SocketAddress peer;
  // Timer list links: every live connection is in exactly one list, ordered by deadline.
  Connection* prev = nullptr;
  Connection* next = nullptr;
  Clock::time_point deadline;
};

// An intrusive FIFO: all members share one timeout, so appending keeps it sorted by deadline.
class TimerList {
 public:
  void push_back(Connection* c);
  void remove(Connection* c);
  Connection* front() const { return head_; }

 private:
  Connection* head_ = nullptr;
  Connection* tail_ = nullptr;
};

class Worker {
 public:
  Worker(Shared& shared, std::vector<int> listen_fds, int index);
  ~Worker();
  util::Result<void> init();
  void run();            // until request_stop()
  void request_stop();   // any thread

  // Used by the connection code (loop thread only).
  Shared& shared() { return shared_; }
  Clock::time_point now() const { return now_; }
  void set_events(Endpoint& ep, std::uint32_t events);
  void enter_handshake(Connection* c) { handshaking_.push_back(c); }
  void touch(Connection* c);  // activity: push the idle deadline back
  void enter_open(Connection* c);
  void close(Connection* c, util::LogLevel level, std::string_view why, std::string_view detail = {});

 private:
  // A connection whose ClientHello has not been looked at yet: answering it is the expensive step.
  static bool is_new_handshake(const Connection& c);
  void accept_all(int listen_fd);
  void expire();
  int next_timeout_ms() const;

  Shared& shared_;
  std::vector<int> listen_fds_;
  int index_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::atomic<bool> stop_{false};
  Clock::time_point now_;
  Clock::time_point accept_paused_until_{};
  Clock::time_point next_rotation_{};
  bool accept_paused_ = false;
  TimerList handshaking_;
  TimerList idle_;
  std::vector<std::unique_ptr<Connection>> graveyard_;  // closed during this batch, freed after it
};

// connection.cpp
void start_connection(Worker& worker, int fd, const SocketAddress& peer);
void on_event(Connection& c, bool backend_side, std::uint32_t events);
// The servername callback on the front context (arg: Shared*).
int on_servername(SSL* ssl, int* alert, void* arg);
int on_ticket_key(SSL* ssl, unsigned char key_name[16], unsigned char* iv, EVP_CIPHER_CTX* cipher,
                  EVP_MAC_CTX* mac, int enc);
// responder.cpp: answers complete requests in c.up into c.down; false when the request is bad.
bool respond(Connection& c);

}  // namespace certpilot::tls::detail
