#include "dns/resolver.hpp"

#include <ares.h>
#include <poll.h>

#include <algorithm>
#include <mutex>

#include "dns/server_address.hpp"
#include "util/cancel.hpp"
#include "util/strings.hpp"

namespace certpilot::dns {

using util::Errc;
using util::fail;

namespace {

struct ChannelDeleter {
  void operator()(ares_channel ch) const noexcept { ares_destroy(ch); }
};
using ChannelPtr = std::unique_ptr<std::remove_pointer_t<ares_channel>, ChannelDeleter>;

Result<void> library_init() {
  // ares_library_init is not thread-safe and must run once per process before any channel.
  static std::once_flag once;
  static int status = ARES_SUCCESS;
  std::call_once(once, [] { status = ares_library_init(ARES_LIB_INIT_ALL); });
  if (status != ARES_SUCCESS) return fail(Errc::internal, std::string("c-ares init: ") + ares_strerror(status));
  return util::ok();
}

struct Pending {
  bool done = false;
  int status = ARES_SUCCESS;
  int timeouts = 0;
  std::string answer;
};

void on_answer(void* arg, int status, int timeouts, unsigned char* abuf, int alen) {
  auto* p = static_cast<Pending*>(arg);
  p->done = true;
  p->status = status;
  p->timeouts = timeouts;
  if (status == ARES_SUCCESS && abuf != nullptr && alen > 0) {
    p->answer.assign(reinterpret_cast<const char*>(abuf), static_cast<std::size_t>(alen));
  }
}

}  // namespace

struct Resolver::Impl {
  ChannelPtr channel;
  ResolverOptions options;
};

Resolver::Resolver(std::unique_ptr<Impl> impl, std::string description)
    : impl_(std::move(impl)), description_(std::move(description)) {}
Resolver::~Resolver() = default;

std::string address_with_port(const std::string& address, std::uint16_t port) {
  if (address.find(':') != std::string::npos) return "[" + address + "]:" + std::to_string(port);
  return address + ":" + std::to_string(port);
}

Result<std::unique_ptr<Resolver>> Resolver::create(ResolverOptions options) {
  if (auto init = library_init(); !init) return fail(init.error());
  ares_options opts{};
  int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
  opts.flags = ARES_FLAG_NOCHECKRESP | (options.use_tcp ? ARES_FLAG_USEVC : 0);
  opts.timeout = static_cast<int>(options.timeout.count());
  opts.tries = options.tries < 1 ? 1 : options.tries;
  ares_channel raw = nullptr;
  const int status = ares_init_options(&raw, &opts, mask);
  ChannelPtr channel(raw);
  if (status != ARES_SUCCESS) return fail(Errc::dns, std::string("c-ares channel: ") + ares_strerror(status));
  std::string description = "system resolvers";
  if (!options.servers.empty()) {
    // Checked here too, whoever built the list: c-ares itself would cut port 99999 to 34463.
    auto servers = normalize_resolvers(options.servers);
    if (!servers) return fail(servers.error().wrapped("DNS servers"));
    options.servers = std::move(*servers);
    description = util::join(options.servers, ",");
    const int s = ares_set_servers_ports_csv(channel.get(), description.c_str());
    if (s != ARES_SUCCESS) {
      return fail(Errc::invalid_input, "DNS servers \"" + description + "\": " + ares_strerror(s) +
                                           " (want IP addresses, optionally with :port)");
    }
  }
  auto impl = std::make_unique<Impl>();
  impl->channel = std::move(channel);
  impl->options = std::move(options);
  return std::unique_ptr<Resolver>(new Resolver(std::move(impl), std::move(description)));
}

bool Resolver::asks_system_resolvers() const { return impl_->options.servers.empty(); }

Result<wire::Message> Resolver::query(const std::string& name, std::uint16_t qtype) {
  auto results = query_all({Job{this, name, qtype}});
  return std::move(results.front());
}

std::vector<Result<wire::Message>> Resolver::query_all(const std::vector<Job>& jobs) {
  std::vector<Pending> pending(jobs.size());
  std::vector<Result<wire::Message>> results;
  results.reserve(jobs.size());
  std::vector<std::string> encode_errors(jobs.size());
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const Job& job = jobs[i];
    auto bytes = wire::encode(wire::make_query(job.name, job.qtype, job.resolver->impl_->options.recursion_desired));
    if (!bytes) {
      pending[i].done = true;
      encode_errors[i] = bytes.error().message;
      continue;
    }
    ares_send(job.resolver->impl_->channel.get(), reinterpret_cast<const unsigned char*>(bytes->data()),
              static_cast<int>(bytes->size()), on_answer, &pending[i]);
  }
  // One poll loop over every channel's sockets; ares_process_fd with no fds handles timeouts.
  for (;;) {
    std::vector<pollfd> fds;
    std::vector<ares_channel> owners;
    timeval max_wait{1, 0};
    timeval* wait = &max_wait;
    bool all_done = true;
    for (std::size_t i = 0; i < jobs.size(); ++i) all_done = all_done && pending[i].done;
    if (all_done) break;
    std::vector<ares_channel> channels;
    for (const Job& job : jobs) {
      ares_channel ch = job.resolver->impl_->channel.get();
      if (std::find(channels.begin(), channels.end(), ch) == channels.end()) channels.push_back(ch);
    }
    for (ares_channel ch : channels) {
      ares_socket_t socks[ARES_GETSOCK_MAXNUM];
      const int bits = ares_getsock(ch, socks, ARES_GETSOCK_MAXNUM);
      for (int s = 0; s < ARES_GETSOCK_MAXNUM; ++s) {
        const bool rd = ARES_GETSOCK_READABLE(bits, s);
        const bool wr = ARES_GETSOCK_WRITABLE(bits, s);
        if (!rd && !wr) continue;
        fds.push_back(pollfd{socks[s], static_cast<short>((rd ? POLLIN : 0) | (wr ? POLLOUT : 0)), 0});
        owners.push_back(ch);
      }
      timeval tv{};
      wait = ares_timeout(ch, wait, &tv);
      if (wait == &tv) {
        max_wait = tv;
        wait = &max_wait;
      }
    }
    const int ms = static_cast<int>(wait->tv_sec * 1000 + wait->tv_usec / 1000) + 1;
    const int n = poll(fds.data(), fds.size(), ms);
    if (util::cancel_requested()) {
      for (ares_channel ch : channels) ares_cancel(ch);  // runs the callbacks with ARES_ECANCELLED
      continue;
    }
    if (n <= 0) {
      for (ares_channel ch : channels) ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
      continue;
    }
    for (std::size_t f = 0; f < fds.size(); ++f) {
      const bool readable = (fds[f].revents & (POLLIN | POLLERR | POLLHUP)) != 0;
      const bool writable = (fds[f].revents & POLLOUT) != 0;
      if (readable || writable) {
        ares_process_fd(owners[f], readable ? fds[f].fd : ARES_SOCKET_BAD, writable ? fds[f].fd : ARES_SOCKET_BAD);
      }
    }
    for (ares_channel ch : channels) ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
  }

  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const Job& job = jobs[i];
    const std::string what = job.name + " " + wire::type_name(job.qtype) + " @" + job.resolver->description();
    const Pending& p = pending[i];
    if (!encode_errors[i].empty()) {
      results.push_back(fail(Errc::invalid_input, "query " + what + ": " + encode_errors[i]));
    } else if (p.status == ARES_ETIMEOUT) {
      // Unreachable, like a refused connection (exit 4): not Errc::timeout, which is for a
      // deadline on an outcome (records not served in time).
      results.push_back(fail(Errc::network, "query " + what + ": no answer (timed out after " +
                                                std::to_string(p.timeouts) + " tries)"));
    } else if (p.status == ARES_ECANCELLED || p.status == ARES_EDESTRUCTION) {
      results.push_back(fail(Errc::cancelled, "query " + what + ": cancelled"));
    } else if (p.status == ARES_ECONNREFUSED) {
      results.push_back(fail(Errc::network, "query " + what + ": " + ares_strerror(p.status) + " (is the server running?)"));
    } else if (p.status != ARES_SUCCESS) {
      results.push_back(fail(Errc::dns, "query " + what + ": " + ares_strerror(p.status)));
    } else if (auto m = wire::decode(p.answer)) {
      results.push_back(std::move(*m));
    } else {
      results.push_back(fail(m.error().wrapped("query " + what + ": malformed answer")));
    }
  }
  return results;
}

std::string cares_version() { return ares_version(nullptr); }

}  // namespace certpilot::dns
