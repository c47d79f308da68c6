// bench/tools/tls_rate.cpp: an open-loop, fixed-rate HTTPS load generator for bench/tls.sh.
//
// Written for this benchmark because Debian 12 has no such tool: wrk has no rate mode (closed
// loop: with -c50 it only starts a request when one of its 50 has finished, so a slow moment of
// the server or of wrk itself delays the requests that would have been sent meanwhile and their
// wait is never counted: "coordinated omission"), wrk2 is not packaged, and h2load has --rate but
// prints only min/max/mean/sd and its --log-file times exclude the TLS handshake.
//
// Open loop: request i is due at t0 + i/R whatever happened to the earlier ones, and its latency is
// counted from that scheduled time to the complete response. A request that starts late (the
// client was busy) or waits (the server was busy) has that delay in its latency. The client's own
// lateness is reported separately (lag = actual start - scheduled start), so a run where the
// client could not keep up is visible as such.
//
//   g++ -O2 -std=c++20 -Wall -Wextra -Werror bench/tools/tls_rate.cpp -lssl -lcrypto -o tls_rate
//
//   tls_rate --mode handshake --port P --sni NAME (--ca FILE | --insecure) --rate R --duration S
//   tls_rate --mode keepalive --connections C ... --rate R --duration S
//     [--host 127.0.0.1] [--path /] [--warmup 1] [--timeout 5] [--samples FILE]
//
// handshake: every request is a new TCP connection and a full TLS handshake (no session is ever
//   reused: no client session cache, no tickets), then `GET PATH HTTP/1.1` with
//   `Connection: close`. Done at the complete response (Content-Length), or at the server's close
//   when there is none. The connection is then read until the server closes it, untimed.
// keepalive: C connections are opened and handshaken first (untimed); request i goes to
//   connection i mod C. A request due on a connection that is still busy waits behind the earlier
//   one (HTTP/1.1, no pipelining); its latency still runs from its scheduled time.
//
// Is the client keeping up? Two measures, both reported as p99: start lag (actual connect(), or
// keep-alive dispatch, minus scheduled time; a due start is served before any other event) and
// socket wait (the kernel's receive timestamp of the bytes each read returned, SO_TIMESTAMPNS,
// to the moment the client read them, summed over the request's reads: how long the server's
// answers sat in the client's socket because the client was busy). A client that falls behind
// shows up in one or the other, and its delay is in the latencies. excl_wait_p*_ms are the
// percentiles of latency minus both: the server's time plus the client's own CPU work on that
// request (key exchange, certificate checks), without the client's queueing.
//
// Requests scheduled during the first --warmup seconds are sent but not counted. Output: one line
// of key=value on stdout (percentiles are exact: nearest rank over all sorted samples), the first
// error message of each failure kind on stderr. --samples writes one line per counted request.
// Single thread, non-blocking sockets, edge-triggered epoll, epoll_pwait2 (ns timeouts); the
// caller pins it to a CPU (taskset).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using i64 = std::int64_t;
constexpr i64 kNever = INT64_MAX;
constexpr int kMaxEvents = 256;

i64 mono_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<i64>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// CLOCK_REALTIME (the kernel's receive timestamps) minus CLOCK_MONOTONIC, measured once.
i64 g_real_minus_mono = 0;

void measure_clock_offset() {
  timespec r{};
  clock_gettime(CLOCK_REALTIME, &r);
  const i64 mono = mono_ns();
  g_real_minus_mono = static_cast<i64>(r.tv_sec) * 1000000000 + r.tv_nsec - mono;
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "tls_rate: %s\n", msg.c_str());
  std::exit(1);
}

enum Fail : int { kRefused, kReset, kHandshake, kTimeout, kBadResponse, kOther, kFailKinds };
constexpr const char* kFailNames[kFailKinds] = {"refused", "reset", "handshake", "timeout", "bad_response", "other"};

struct Options {
  std::string mode;
  std::string host = "127.0.0.1";
  int port = 0;
  std::string sni;
  std::string ca;
  bool insecure = false;
  std::string path = "/";
  double rate = 0;
  double duration = 0;
  double warmup = 1;
  double timeout = 5;
  int connections = 50;
  std::string samples;
};

void usage(FILE* out) {
  std::fputs(
      "usage: tls_rate --mode handshake|keepalive --port P --sni NAME (--ca FILE | --insecure)\n"
      "                --rate R --duration S [--host 127.0.0.1] [--path /] [--warmup 1] [--timeout 5]\n"
      "                [--connections 50 (keepalive)] [--samples FILE]\n",
      out);
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      usage(stdout);
      std::exit(0);
    }
    if (a == "--insecure") {
      o.insecure = true;
      continue;
    }
    if (i + 1 >= argc) {
      usage(stderr);
      die("missing value for " + a);
    }
    const std::string v = argv[++i];
    auto number = [&](double min) {
      char* end = nullptr;
      const double d = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end != '\0' || !(d >= min)) {
        die(a + " needs a number >= " + std::to_string(min) + ", not '" + v + "'");
      }
      return d;
    };
    if (a == "--mode") o.mode = v;
    else if (a == "--host") o.host = v;
    else if (a == "--port") o.port = static_cast<int>(number(1));
    else if (a == "--sni") o.sni = v;
    else if (a == "--ca") o.ca = v;
    else if (a == "--path") o.path = v;
    else if (a == "--rate") o.rate = number(0.001);
    else if (a == "--duration") o.duration = number(0.001);
    else if (a == "--warmup") o.warmup = number(0);
    else if (a == "--timeout") o.timeout = number(0.001);
    else if (a == "--connections") o.connections = static_cast<int>(number(1));
    else if (a == "--samples") o.samples = v;
    else {
      usage(stderr);
      die("unknown option " + a);
    }
  }
  if (o.mode != "handshake" && o.mode != "keepalive") die("--mode handshake or --mode keepalive");
  if (o.port <= 0 || o.port > 65535) die("--port is required");
  if (o.sni.empty()) die("--sni is required");
  if (o.ca.empty() == !o.insecure) die("give exactly one of --ca FILE and --insecure");
  if (o.rate <= 0 || o.duration <= 0) die("--rate and --duration are required");
  return o;
}

// --- HTTP/1.1 response framing -------------------------------------------------------------------
// Returns the length of the complete response at the start of `in`, 0 when more bytes are needed,
// -1 when it is bad (*why says why). Without Content-Length the response ends at the close.
long response_length(std::string_view in, bool at_eof, bool need_length, std::string* why) {
  const auto head_end = in.find("\r\n\r\n");
  if (head_end == std::string_view::npos) {
    if (at_eof) {
      *why = in.empty() ? "closed before any response byte" : "closed inside the response header";
      return -1;
    }
    if (in.size() > 65536) {
      *why = "response header over 64 KiB";
      return -1;
    }
    return 0;
  }
  const std::string_view head = in.substr(0, head_end);
  if (head.size() < 12 || head.substr(0, 7) != "HTTP/1." || head[8] != ' ') {
    *why = "not an HTTP/1.x status line";
    return -1;
  }
  if (head[9] != '2') {
    *why = "status " + std::string(head.substr(9, 3));
    return -1;
  }
  long content_length = -1;
  std::size_t pos = head.find("\r\n");
  while (pos != std::string_view::npos && pos < head.size()) {
    const std::size_t start = pos + 2;
    const std::size_t end = std::min(head.find("\r\n", start), head.size());
    std::string line(head.substr(start, end - start));
    for (char& ch : line) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (line.rfind("content-length:", 0) == 0) {
      content_length = std::strtol(line.c_str() + 15, nullptr, 10);
    } else if (line.rfind("transfer-encoding:", 0) == 0) {
      *why = "Transfer-Encoding is not supported";
      return -1;
    }
    pos = end;
  }
  const long body_start = static_cast<long>(head_end) + 4;
  if (content_length < 0) {
    if (need_length) {
      *why = "no Content-Length on a keep-alive response";
      return -1;
    }
    return at_eof ? static_cast<long>(in.size()) : 0;
  }
  if (static_cast<long>(in.size()) >= body_start + content_length) {
    return body_start + content_length;
  }
  if (at_eof) {
    *why = "closed inside the response body";
    return -1;
  }
  return 0;
}

// --- the load ---------------------------------------------------------------------------------------
enum class St { closed, handshaking, sending, reading, draining, idle };
enum class ReqState : std::uint8_t { pending, ok, failed };

struct Req {
  i64 sched = 0;
  i64 start = -1;  // when the client started it: connect() (handshake) or queued/sent (keepalive)
  i64 done = -1;
  i64 socket_wait = 0;  // time the server's bytes waited in the client's socket (see the top)
  ReqState state = ReqState::pending;
  std::uint8_t fail = 0;
};

struct Conn {
  int fd = -1;
  SSL* ssl = nullptr;
  St st = St::closed;
  i64 req = -1;  // the request in flight on it, -1 none
  i64 socket_wait = 0;  // of the current request, summed by the BIO's reads
  i64 last_rx = 0;      // receive timestamp of the bytes read last
  i64 counted_until = 0;  // socket_wait covers up to here
  bool eof = false;     // the BIO read the end of the stream
  std::string in;
  std::deque<i64> queue;  // keepalive: requests due on this connection, oldest first
};

// A socket BIO that reads with recvmsg() to get each read's kernel receive timestamp
// (SO_TIMESTAMPNS) and adds the time those bytes waited to the connection's socket_wait. The
// timestamp is that of the last segment the read consumed.
int bio_write_ex(BIO* b, const char* buf, std::size_t len, std::size_t* written) {
  const auto* c = static_cast<const Conn*>(BIO_get_data(b));
  BIO_clear_retry_flags(b);
  const ssize_t n = ::send(c->fd, buf, len, MSG_NOSIGNAL);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) BIO_set_retry_write(b);
    return 0;
  }
  *written = static_cast<std::size_t>(n);
  return 1;
}

int bio_read_ex(BIO* b, char* buf, std::size_t len, std::size_t* got) {
  auto* c = static_cast<Conn*>(BIO_get_data(b));
  BIO_clear_retry_flags(b);
  iovec iov{buf, len};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec)) + 64];
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = control;
  mh.msg_controllen = sizeof control;
  const ssize_t n = ::recvmsg(c->fd, &mh, 0);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) BIO_set_retry_read(b);
    return 0;
  }
  if (n == 0) {
    c->eof = true;
    return 0;
  }
  for (cmsghdr* cm = CMSG_FIRSTHDR(&mh); cm != nullptr; cm = CMSG_NXTHDR(&mh, cm)) {
    if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
      timespec ts{};
      std::memcpy(&ts, CMSG_DATA(cm), sizeof ts);
      const i64 rx = static_cast<i64>(ts.tv_sec) * 1000000000 + ts.tv_nsec - g_real_minus_mono;
      // OpenSSL reads a record header, then its body, record by record: count each arrival once,
      // at the first read, or the client's own work between those reads would count as waiting;
      // and count a stretch of time once when several segments waited together (union).
      if (rx != c->last_rx) {
        const i64 now = mono_ns();
        c->socket_wait += std::max<i64>(0, now - std::max(rx, c->counted_until));
        c->counted_until = now;
        c->last_rx = rx;
      }
    }
  }
  *got = static_cast<std::size_t>(n);
  return 1;
}

long bio_ctrl(BIO* b, int cmd, long, void*) {
  switch (cmd) {
    case BIO_CTRL_FLUSH: return 1;
    case BIO_CTRL_EOF: return static_cast<const Conn*>(BIO_get_data(b))->eof ? 1 : 0;
    default: return 0;
  }
}

int bio_create(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

BIO_METHOD* timestamp_bio_method() {
  static BIO_METHOD* m = [] {
    BIO_METHOD* meth = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "tls_rate socket");
    if (meth == nullptr || BIO_meth_set_write_ex(meth, bio_write_ex) != 1 || BIO_meth_set_read_ex(meth, bio_read_ex) != 1 ||
        BIO_meth_set_ctrl(meth, bio_ctrl) != 1 || BIO_meth_set_create(meth, bio_create) != 1) {
      die("BIO_meth_new failed");
    }
    return meth;
  }();
  return m;
}

class Load {
 public:
  explicit Load(Options o) : o_(std::move(o)) {}
  int run();

 private:
  void setup_tls();
  void resolve();
  bool open(Conn& c);  // false: failed at once (counted on c.req if any)
  void close(Conn& c);
  void drive(Conn& c);
  void fail_req(i64 id, Fail kind, const std::string& why);
  void fail_conn(Conn& c, Fail kind, const std::string& why);
  void reopen(Conn& c);
  void complete(Conn& c, i64 id);
  bool next_queued(Conn& c);
  void dispatch_due(i64 now);
  void expire(i64 now);
  int wait(i64 until);
  void report();

  Options o_;
  bool keepalive_ = false;
  SSL_CTX* ctx_ = nullptr;
  sockaddr_storage addr_{};
  socklen_t addr_len_ = 0;
  int ep_ = -1;
  bool have_pwait2_ = true;
  epoll_event events_[kMaxEvents]{};
  std::string request_;

  std::vector<Req> reqs_;
  std::vector<Conn*> req_conn_;          // handshake mode: the connection of each started request
  std::deque<std::pair<i64, i64>> timeouts_;  // (deadline, request), in dispatch order = deadline order
  i64 next_ = 0;
  i64 finished_ = 0;
  i64 warm_n_ = 0;
  i64 t0_ = 0;
  i64 timeout_ns_ = 0;

  std::vector<std::unique_ptr<Conn>> pool_;
  std::vector<Conn*> free_;
  std::vector<Conn*> closed_this_batch_;
  std::vector<Conn*> ka_;  // keepalive connections
  std::vector<Conn*> reopen_;  // keepalive connections that failed with requests queued
  Fail last_kind_ = kOther;
  long warmup_failed_ = 0;
  bool setup_phase_ = false;
  int open_conns_ = 0;
  int max_open_ = 0;
  long resumed_ = 0;
  long reconnects_ = 0;
  long fails_[kFailKinds] = {};
  std::string first_why_[kFailKinds];
  std::string tls_desc_;
};

void Load::setup_tls() {
  ctx_ = SSL_CTX_new(TLS_client_method());
  if (ctx_ == nullptr) die("SSL_CTX_new failed");
  SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
  // Full handshakes only: no client session cache (nothing to offer), no tickets asked for.
  SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx_, SSL_OP_NO_TICKET | SSL_OP_IGNORE_UNEXPECTED_EOF);
  if (o_.insecure) {
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
  } else {
    if (SSL_CTX_load_verify_locations(ctx_, o_.ca.c_str(), nullptr) != 1) die("cannot load --ca " + o_.ca);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
  }
}

void Load::resolve() {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(o_.port);
  if (const int rc = getaddrinfo(o_.host.c_str(), port.c_str(), &hints, &res); rc != 0 || res == nullptr) {
    die("cannot resolve " + o_.host + ": " + gai_strerror(rc));
  }
  std::memcpy(&addr_, res->ai_addr, res->ai_addrlen);
  addr_len_ = res->ai_addrlen;
  freeaddrinfo(res);
}

bool Load::open(Conn& c) {
  c.in.clear();
  c.fd = ::socket(addr_.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) {
    const int e = errno;
    fail_conn(c, kOther, std::string("socket: ") + std::strerror(e));
    return false;
  }
  const int one = 1;
  ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::setsockopt(c.fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
  c.eof = false;
  c.socket_wait = 0;
  c.last_rx = 0;
  c.counted_until = 0;
  ++open_conns_;
  max_open_ = std::max(max_open_, open_conns_);
  if (::connect(c.fd, reinterpret_cast<const sockaddr*>(&addr_), addr_len_) != 0 && errno != EINPROGRESS) {
    const int e = errno;
    fail_conn(c, e == ECONNREFUSED ? kRefused : e == ECONNRESET ? kReset : kOther,
              std::string("connect: ") + std::strerror(e));
    return false;
  }
  c.ssl = SSL_new(ctx_);
  BIO* bio = c.ssl != nullptr ? BIO_new(timestamp_bio_method()) : nullptr;
  if (bio == nullptr || SSL_set_tlsext_host_name(c.ssl, o_.sni.c_str()) != 1 ||
      (!o_.insecure && SSL_set1_host(c.ssl, o_.sni.c_str()) != 1)) {
    BIO_free(bio);
    fail_conn(c, kOther, "SSL_new/BIO_new failed");
    return false;
  }
  BIO_set_data(bio, &c);
  SSL_set_bio(c.ssl, bio, bio);  // the SSL owns it now
  SSL_set_connect_state(c.ssl);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;  // once per connection; drive() runs to EAGAIN
  ev.data.ptr = &c;
  if (::epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev) != 0) {
    const int e = errno;
    fail_conn(c, kOther, std::string("epoll_ctl: ") + std::strerror(e));
    return false;
  }
  c.st = St::handshaking;
  // Not waiting for EPOLLOUT: on a socket still connecting the ClientHello write gets EAGAIN and the
  // edge-triggered EPOLLOUT of the completed connect() resumes it.
  drive(c);
  return true;
}

void Load::close(Conn& c) {
  if (c.ssl != nullptr) {
    SSL_free(c.ssl);
    c.ssl = nullptr;
  }
  if (c.fd >= 0) {
    ::close(c.fd);  // also leaves epoll
    c.fd = -1;
    --open_conns_;
  }
  c.in.clear();
  if (c.st != St::closed && !keepalive_) {
    closed_this_batch_.push_back(&c);  // reused after this batch: its events may still be listed
  }
  c.st = St::closed;
}

void Load::fail_req(i64 id, Fail kind, const std::string& why) {
  Req& r = reqs_[static_cast<std::size_t>(id)];
  if (r.state != ReqState::pending) return;
  r.state = ReqState::failed;
  r.fail = static_cast<std::uint8_t>(kind);
  r.done = mono_ns();
  ++finished_;
  if (id >= warm_n_) {
    ++fails_[kind];
  } else {
    ++warmup_failed_;
  }
  if (first_why_[kind].empty()) first_why_[kind] = why;
}

// The connection failed: its request fails with it. A keep-alive connection with requests queued
// on it is opened again from the main loop (reopen_), never from in here: no recursion when the
// server refuses at once.
void Load::fail_conn(Conn& c, Fail kind, const std::string& why) {
  if (setup_phase_) die("opening the keep-alive connections: " + std::string(kFailNames[kind]) + ": " + why);
  last_kind_ = kind;
  if (c.req >= 0) {
    fail_req(c.req, kind, why);
    if (keepalive_) c.req = -1;  // handshake mode keeps it: expire() finds the connection by it
  } else if (first_why_[kind].empty()) {
    first_why_[kind] = why + " (no request on it)";
  }
  close(c);
  if (keepalive_ && !c.queue.empty()) reopen_.push_back(&c);
}

// A keep-alive connection that failed: a new one for the requests queued on it.
void Load::reopen(Conn& c) {
  if (c.st != St::closed || c.queue.empty()) return;
  ++reconnects_;
  if (!open(c)) {
    while (!c.queue.empty()) {
      fail_req(c.queue.front(), last_kind_, "could not reconnect");
      c.queue.pop_front();
    }
  }
}

void Load::complete(Conn& c, i64 id) {
  Req& r = reqs_[static_cast<std::size_t>(id)];
  if (keepalive_) c.req = -1;  // handshake mode keeps it until the connection is reused
  if (r.state != ReqState::pending) return;  // it timed out meanwhile
  r.state = ReqState::ok;
  r.done = mono_ns();
  r.socket_wait = c.socket_wait;
  ++finished_;
}

bool Load::next_queued(Conn& c) {
  while (!c.queue.empty()) {
    const i64 id = c.queue.front();
    c.queue.pop_front();
    if (reqs_[static_cast<std::size_t>(id)].state == ReqState::pending) {
      c.req = id;
      return true;
    }
  }
  return false;
}

// After an SSL call returned <= 0: 1 retry later, 0 end of stream, -1 error (*kind, *why set).
int ssl_result(SSL* ssl, int ret, int saved_errno, bool handshake, Fail* kind, std::string* why) {
  const int err = SSL_get_error(ssl, ret);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return 1;
  if (err == SSL_ERROR_ZERO_RETURN) {
    ERR_clear_error();
    return 0;
  }
  if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
    if (saved_errno == 0) return 0;
    *kind = saved_errno == ECONNREFUSED                        ? kRefused
            : saved_errno == ECONNRESET || saved_errno == EPIPE ? kReset
            : handshake                                         ? kHandshake
                                                                : kOther;
    *why = std::strerror(saved_errno);
    return -1;
  }
  char buf[256] = "unknown TLS error";
  if (const unsigned long e = ERR_get_error(); e != 0) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  *kind = handshake ? kHandshake : kOther;
  *why = buf;
  return -1;
}

void Load::drive(Conn& c) {
  char buf[16384];
  Fail kind = kOther;
  std::string why;
  for (;;) {
    switch (c.st) {
      case St::closed:
        return;
      case St::handshaking: {
        errno = 0;
        const int ret = SSL_do_handshake(c.ssl);
        const int saved = errno;
        if (ret != 1) {
          const int r = ssl_result(c.ssl, ret, saved, true, &kind, &why);
          if (r == 1) return;
          fail_conn(c, kind, r == 0 ? "closed during the handshake" : "handshake: " + why);
          return;
        }
        if (SSL_session_reused(c.ssl) == 1) ++resumed_;
        if (tls_desc_.empty()) {
          tls_desc_ = std::string(SSL_get_version(c.ssl)) + "," + SSL_CIPHER_get_name(SSL_get_current_cipher(c.ssl));
        }
        c.st = keepalive_ ? St::idle : St::sending;
        break;
      }
      case St::idle: {
        if (next_queued(c)) {
          c.st = St::sending;
          c.socket_wait = 0;  // counted from here for this request
          c.counted_until = 0;
          break;
        }
        // Nothing to send: only look whether the server closed (or sent something unasked).
        errno = 0;
        std::size_t n = 0;
        const int ret = SSL_read_ex(c.ssl, buf, sizeof buf, &n);
        const int saved = errno;
        if (ret == 1) {
          fail_conn(c, kBadResponse, "bytes on an idle connection");
          return;
        }
        const int r = ssl_result(c.ssl, ret, saved, false, &kind, &why);
        if (r == 1) return;
        fail_conn(c, r == 0 ? kReset : kind, r == 0 ? "server closed an idle keep-alive connection" : why);
        return;
      }
      case St::sending: {
        errno = 0;
        std::size_t n = 0;
        const int ret = SSL_write_ex(c.ssl, request_.data(), request_.size(), &n);
        const int saved = errno;
        if (ret != 1) {
          const int r = ssl_result(c.ssl, ret, saved, false, &kind, &why);
          if (r == 1) return;
          fail_conn(c, r == 0 ? kReset : kind, r == 0 ? "closed before the request was sent" : "write: " + why);
          return;
        }
        c.st = St::reading;
        break;
      }
      case St::reading:
      case St::draining: {
        errno = 0;
        std::size_t n = 0;
        const int ret = SSL_read_ex(c.ssl, buf, sizeof buf, &n);
        const int saved = errno;
        bool eof = false;
        if (ret != 1) {
          const int r = ssl_result(c.ssl, ret, saved, false, &kind, &why);
          if (r == 1) return;
          if (r < 0) {
            if (c.st == St::draining) {
              close(c);  // after the response: the way the server closes is not timed or judged
            } else {
              fail_conn(c, kind, "read: " + why);
            }
            return;
          }
          eof = true;
        }
        if (c.st == St::draining) {
          if (eof) close(c);
          break;  // discard: the response was complete
        }
        c.in.append(buf, n);
        const long len = response_length(c.in, eof, keepalive_, &why);
        if (len < 0) {
          fail_conn(c, eof && why.rfind("closed", 0) == 0 ? kReset : kBadResponse, why);
          return;
        }
        if (len == 0) break;  // more to read
        complete(c, c.req);
        if (keepalive_) {
          if (static_cast<std::size_t>(len) != c.in.size()) {
            fail_conn(c, kBadResponse, "bytes after the response");
            return;
          }
          c.in.clear();
          c.st = St::idle;
        } else if (eof) {
          close(c);
        } else {
          c.st = St::draining;
        }
        break;
      }
    }
  }
}

void Load::dispatch_due(i64 now) {
  const i64 n = static_cast<i64>(reqs_.size());
  while (next_ < n && reqs_[static_cast<std::size_t>(next_)].sched <= now) {
    const i64 id = next_++;
    Req& r = reqs_[static_cast<std::size_t>(id)];
    timeouts_.emplace_back(r.sched + timeout_ns_, id);
    if (keepalive_) {
      Conn& c = *ka_[static_cast<std::size_t>(id % static_cast<i64>(ka_.size()))];
      r.start = mono_ns();
      c.queue.push_back(id);
      if (c.st == St::closed) {
        reopen(c);
      } else if (c.st == St::idle) {
        drive(c);
      }
    } else {
      Conn* c = nullptr;
      if (!free_.empty()) {
        c = free_.back();
        free_.pop_back();
      } else {
        pool_.push_back(std::make_unique<Conn>());
        c = pool_.back().get();
      }
      c->req = id;
      req_conn_[static_cast<std::size_t>(id)] = c;
      r.start = mono_ns();
      if (!open(*c)) {
        c->req = -1;  // failed before epoll knew it: reusable at once
        free_.push_back(c);
      }
    }
    now = mono_ns();
  }
}

void Load::expire(i64 now) {
  while (!timeouts_.empty() && timeouts_.front().first <= now) {
    const i64 id = timeouts_.front().second;
    timeouts_.pop_front();
    Req& r = reqs_[static_cast<std::size_t>(id)];
    char why_buf[96];
    std::snprintf(why_buf, sizeof why_buf, "no complete response %g s after the scheduled start", o_.timeout);
    const std::string why = why_buf;
    if (keepalive_) {
      if (r.state != ReqState::pending) continue;
      Conn& c = *ka_[static_cast<std::size_t>(id % static_cast<i64>(ka_.size()))];
      if (c.req == id) {
        fail_conn(c, kTimeout, why);  // in flight: this connection is stuck; a new one takes the queue
      } else {
        fail_req(id, kTimeout, why);  // still queued: skipped when its turn comes
      }
    } else {
      Conn* c = req_conn_[static_cast<std::size_t>(id)];
      if (c == nullptr || c->req != id || c->st == St::closed) continue;
      if (r.state == ReqState::pending) {
        fail_conn(*c, kTimeout, why);
      } else {
        close(*c);  // answered, but the server never closed: stop waiting for it
      }
    }
  }
}

int Load::wait(i64 until) {
  if (have_pwait2_) {
    timespec ts{};
    timespec* tp = nullptr;
    if (until != kNever) {
      const i64 d = std::max<i64>(0, until - mono_ns());
      ts.tv_sec = d / 1000000000;
      ts.tv_nsec = d % 1000000000;
      tp = &ts;
    }
    const int n = ::epoll_pwait2(ep_, events_, kMaxEvents, tp, nullptr);
    if (n >= 0 || errno != ENOSYS) return n;
    have_pwait2_ = false;
  }
  int ms = -1;
  if (until != kNever) {
    const i64 d = std::max<i64>(0, until - mono_ns());
    ms = static_cast<int>(std::min<i64>(d / 1000000, 1000));  // rounds down: the caller loops
  }
  return ::epoll_wait(ep_, events_, kMaxEvents, ms);
}

double percentile_ms(const std::vector<i64>& sorted, double p) {
  if (sorted.empty()) return NAN;
  // Nearest rank: the smallest value with at least p of the samples at or below it.
  auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return static_cast<double>(sorted[rank - 1]) / 1e6;
}

int Load::run() {
  keepalive_ = o_.mode == "keepalive";
  ::signal(SIGPIPE, SIG_IGN);
  prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);  // wake at the scheduled time, not up to 50 us later
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  measure_clock_offset();
  setup_tls();
  resolve();
  ep_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (ep_ < 0) die("epoll_create1 failed");
  request_ = "GET " + o_.path + " HTTP/1.1\r\nHost: " + o_.sni + "\r\n" +
             (keepalive_ ? std::string() : std::string("Connection: close\r\n")) + "\r\n";
  timeout_ns_ = static_cast<i64>(o_.timeout * 1e9);

  if (keepalive_) {
    // Untimed: open and handshake every connection before the clock starts.
    setup_phase_ = true;
    for (int i = 0; i < o_.connections; ++i) {
      pool_.push_back(std::make_unique<Conn>());
      ka_.push_back(pool_.back().get());
      open(*ka_.back());
    }
    const i64 deadline = mono_ns() + timeout_ns_ + 5000000000LL;
    for (;;) {
      const bool all = std::all_of(ka_.begin(), ka_.end(), [](const Conn* c) { return c->st == St::idle; });
      if (all) break;
      if (mono_ns() > deadline) die("the keep-alive connections did not all complete their handshake");
      const int n = wait(mono_ns() + 100000000);
      for (int i = 0; i < n; ++i) drive(*static_cast<Conn*>(events_[i].data.ptr));
    }
    setup_phase_ = false;
  }

  warm_n_ = static_cast<i64>(std::ceil(o_.rate * o_.warmup - 1e-9));
  const i64 measured = std::max<i64>(1, std::llround(o_.rate * o_.duration));
  const i64 total = warm_n_ + measured;
  reqs_.resize(static_cast<std::size_t>(total));
  if (!keepalive_) req_conn_.assign(static_cast<std::size_t>(total), nullptr);
  t0_ = mono_ns() + 20000000;  // 20 ms to settle
  const double interval = 1e9 / o_.rate;
  for (i64 i = 0; i < total; ++i) {
    reqs_[static_cast<std::size_t>(i)].sched = t0_ + static_cast<i64>(static_cast<double>(i) * interval);
  }
  const double cpu_before = cpu_seconds();
  const i64 wall_before = mono_ns();
  while (true) {
    const i64 now = mono_ns();
    dispatch_due(now);
    expire(now);
    if (next_ == total && finished_ == total) break;
    i64 until = kNever;
    if (next_ < total) until = reqs_[static_cast<std::size_t>(next_)].sched;
    if (!timeouts_.empty()) until = std::min(until, timeouts_.front().first);
    const int n = wait(until);
    if (n < 0 && errno != EINTR) die(std::string("epoll_wait: ") + std::strerror(errno));
    for (int i = 0; i < n; ++i) {
      // A due start goes first: the client's lateness must stay out of the server's latency.
      dispatch_due(mono_ns());
      drive(*static_cast<Conn*>(events_[i].data.ptr));
    }
    for (Conn* c : closed_this_batch_) {
      c->req = -1;
      free_.push_back(c);
    }
    closed_this_batch_.clear();
    std::vector<Conn*> again;
    again.swap(reopen_);
    for (Conn* c : again) reopen(*c);
  }
  const double client_cpu = cpu_seconds() - cpu_before;
  const double wall = static_cast<double>(mono_ns() - wall_before) / 1e9;
  for (auto& c : pool_) {
    if (c->st != St::closed) close(*c);
  }

  // --- statistics over the counted requests ---
  std::vector<i64> lat;
  std::vector<i64> lag;
  std::vector<i64> wait;
  std::vector<i64> excl;
  lat.reserve(static_cast<std::size_t>(measured));
  lag.reserve(static_cast<std::size_t>(measured));
  wait.reserve(static_cast<std::size_t>(measured));
  i64 last_done = 0;
  i64 late_1ms = 0;
  for (i64 i = warm_n_; i < total; ++i) {
    const Req& r = reqs_[static_cast<std::size_t>(i)];
    if (r.start >= 0) {
      lag.push_back(r.start - r.sched);
      if (r.start - r.sched > 1000000) ++late_1ms;
    }
    if (r.state == ReqState::ok) {
      lat.push_back(r.done - r.sched);
      wait.push_back(r.socket_wait);
      excl.push_back(r.done - r.sched - (r.start - r.sched) - r.socket_wait);
      last_done = std::max(last_done, r.done);
    }
  }
  if (!o_.samples.empty()) {
    FILE* f = std::fopen(o_.samples.c_str(), "w");
    if (f == nullptr) die("cannot write " + o_.samples);
    std::fprintf(f, "# request sched_s lag_ms latency_ms result socket_wait_ms\n");
    for (i64 i = warm_n_; i < total; ++i) {
      const Req& r = reqs_[static_cast<std::size_t>(i)];
      std::fprintf(f, "%lld %.6f %.3f %.3f %s %.3f\n", static_cast<long long>(i), static_cast<double>(r.sched - t0_) / 1e9,
                   static_cast<double>(r.start - r.sched) / 1e6, static_cast<double>(r.done - r.sched) / 1e6,
                   r.state == ReqState::ok ? "ok" : kFailNames[r.fail], static_cast<double>(r.socket_wait) / 1e6);
    }
    std::fclose(f);
  }
  std::sort(lat.begin(), lat.end());
  std::sort(lag.begin(), lag.end());
  std::sort(wait.begin(), wait.end());
  std::sort(excl.begin(), excl.end());
  long failed = 0;
  for (long f : fails_) failed += f;
  double mean = 0;
  for (i64 v : lat) mean += static_cast<double>(v);
  mean = lat.empty() ? NAN : mean / static_cast<double>(lat.size()) / 1e6;
  const i64 window_start = reqs_[static_cast<std::size_t>(warm_n_)].sched;
  const double achieved =
      last_done > window_start ? static_cast<double>(lat.size()) / (static_cast<double>(last_done - window_start) / 1e9) : 0;

  std::printf("mode=%s rate=%g duration_s=%g warmup_s=%g connections=%d scheduled=%lld ok=%zu failed=%ld "
              "p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f mean_ms=%.3f achieved_rate=%.1f "
              "lag_p50_ms=%.3f lag_p99_ms=%.3f lag_max_ms=%.3f late_1ms=%lld socket_wait_p50_ms=%.3f socket_wait_p99_ms=%.3f "
              "socket_wait_max_ms=%.3f excl_wait_p50_ms=%.3f excl_wait_p99_ms=%.3f excl_wait_p999_ms=%.3f "
              "client_cpu_s=%.3f client_cpu_pct=%.1f "
              "open_max=%d resumed=%ld reconnects=%ld warmup_failed=%ld",
              o_.mode.c_str(), o_.rate, o_.duration, o_.warmup, keepalive_ ? o_.connections : 0,
              static_cast<long long>(measured), lat.size(), failed, percentile_ms(lat, 0.50), percentile_ms(lat, 0.90),
              percentile_ms(lat, 0.99), percentile_ms(lat, 0.999), lat.empty() ? NAN : static_cast<double>(lat.back()) / 1e6,
              mean, achieved, percentile_ms(lag, 0.50), percentile_ms(lag, 0.99),
              lag.empty() ? NAN : static_cast<double>(lag.back()) / 1e6, static_cast<long long>(late_1ms),
              percentile_ms(wait, 0.50), percentile_ms(wait, 0.99), wait.empty() ? NAN : static_cast<double>(wait.back()) / 1e6,
              percentile_ms(excl, 0.50), percentile_ms(excl, 0.99), percentile_ms(excl, 0.999), client_cpu,
              wall > 0 ? 100.0 * client_cpu / wall : 0.0, max_open_, resumed_, reconnects_, warmup_failed_);
  for (int k = 0; k < kFailKinds; ++k) std::printf(" fail_%s=%ld", kFailNames[k], fails_[k]);
  std::printf(" tls=%s\n", tls_desc_.empty() ? "none" : tls_desc_.c_str());
  for (int k = 0; k < kFailKinds; ++k) {
    if (!first_why_[k].empty()) std::fprintf(stderr, "tls_rate: first %s failure (warm-up included): %s\n", kFailNames[k], first_why_[k].c_str());
  }
  SSL_CTX_free(ctx_);
  ::close(ep_);
  return lat.empty() ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Load load(parse_options(argc, argv));
  return load.run();
}
