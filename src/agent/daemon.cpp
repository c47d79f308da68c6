#include "agent/daemon.hpp"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <iostream>
#include <system_error>
#include <thread>
#include <vector>

#include "agent/config.hpp"
#include "agent/renewal.hpp"
#include "agent/serve.hpp"
#include "agent/systemd_notify.hpp"
#include "agent/worker_budget.hpp"
#include "util/cancel.hpp"
#include "util/log.hpp"
#include "util/memory.hpp"
#include "util/time.hpp"

namespace certpilot::agent {

namespace {

const util::Logger kLog("agent");
using Clock = std::chrono::system_clock;

// Workers are started by the timer thread when jobs are queued (at most max_parallel_orders at a
// time) and leave as soon as the queue is empty, so an idle daemon has two threads: main (signals)
// and the timer. When the last one has gone, freed memory is handed back to the kernel.
class Scheduler {
 public:
  Scheduler(std::shared_ptr<const Config> config, store::Store store, const DaemonOptions& options)
      : config_(std::move(config)), store_(std::move(store)), options_(options),
        budget_(config_->daemon.max_parallel_orders) {}

  void start() {
    auto seeds = first_checks(*config_, {});
    {
      std::lock_guard lock(mu_);
      apply_locked(seeds, {});
      budget_.mark_dirty();  // parsing the config and reading 1000s of meta.json left free pages
    }
    timer_ = std::thread([this] { timer_loop(); });
  }

  void reload(std::shared_ptr<const Config> next) {
    std::shared_ptr<const Config> old;
    {
      std::lock_guard lock(mu_);
      old = config_;
    }
    if (next->storage.dir != old->storage.dir) {
      kLog.warn("storage.dir changed; it takes effect after a restart", {{"old", old->storage.dir}});
    }
    // Certificates whose request changed are looked at now, not at their old next check.
    std::set<std::string> changed;
    const bool policy_changed = next->daemon.renew_before != old->daemon.renew_before;
    for (const auto& c : next->certificates) {
      const CertificateConfig* before = old->find_certificate(c.name);
      // A new renewal policy is applied by looking at every certificate once now.
      if (before != nullptr && (policy_changed || !same_request(*before, c))) changed.insert(c.name);
    }
    std::set<std::string> known;
    {
      std::lock_guard lock(mu_);
      for (const auto& [name, at] : next_) known.insert(name);
    }
    auto seeds = first_checks(*next, known);  // disk reads outside the lock
    old.reset();  // so that the config replaced below is freed before the timer's idle trim
    std::lock_guard lock(mu_);
    // A new max_parallel_orders limits the workers started from now on; running jobs finish.
    budget_.set_max(next->daemon.max_parallel_orders);
    config_ = std::move(next);
    apply_locked(seeds, changed);
    budget_.mark_dirty();  // the old config is gone unless a running job still holds it
    cv_.notify_all();
  }

  void stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    timer_.join();  // no worker is started after this
    std::map<int, std::thread> workers;
    {
      std::lock_guard lock(mu_);
      workers.swap(workers_);
    }
    for (auto& [id, w] : workers) w.join();  // each ends after its current job (cancelled)
  }

  std::string summary() {
    std::lock_guard lock(mu_);
    std::string next_name;
    util::SysTime next_at = util::SysTime::max();
    for (const auto& [name, at] : next_) {
      if (!in_flight_.count(name) && at < next_at) {
        next_at = at;
        next_name = name;
      }
    }
    std::string s = std::to_string(next_.size()) + " certificates, " + std::to_string(in_flight_.size()) +
                    " renewing, " + std::to_string(failing_.size()) + " failing";
    if (!next_name.empty()) s += "; next check " + next_name + " at " + util::format_rfc3339(next_at);
    return s;
  }

 private:
  static bool same_request(const CertificateConfig& a, const CertificateConfig& b) {
    return std::set<std::string>(a.domains.begin(), a.domains.end()) ==
               std::set<std::string>(b.domains.begin(), b.domains.end()) &&
           a.key_type == b.key_type && a.dns == b.dns;
  }

  // The first check of each certificate not in `skip`: its meta.json next_check when it was issued
  // for the same request, else now (a new or changed certificate is looked at at once).
  std::map<std::string, util::SysTime> first_checks(const Config& config, const std::set<std::string>& skip) const {
    std::map<std::string, util::SysTime> out;
    for (const auto& c : config.certificates) {
      if (skip.count(c.name)) continue;
      util::SysTime at = Clock::now();
      auto meta = store_.read_meta(c.name);
      if (meta && *meta && (*meta)->next_check && !(*meta)->serial.empty() &&
          std::set<std::string>((*meta)->domains.begin(), (*meta)->domains.end()) ==
              std::set<std::string>(c.domains.begin(), c.domains.end()) &&
          (*meta)->key_type == crypto::to_string(c.key_type)) {
        at = *(*meta)->next_check;
        // next_check was chosen under the policy of its time; a renew_before set since may be sooner.
        const auto& m = **meta;
        if (config.daemon.renew_before && m.not_before && m.not_after &&
            *config.daemon.renew_before < *m.not_after - *m.not_before) {
          at = std::min(at, *m.not_after - *config.daemon.renew_before);
        }
      }
      out[c.name] = at;
    }
    return out;
  }

  // Adds seeds, makes changed certificates due now, drops certificates no longer configured.
  void apply_locked(const std::map<std::string, util::SysTime>& seeds, const std::set<std::string>& changed) {
    for (const auto& [name, at] : seeds) next_.emplace(name, at);
    for (const auto& name : changed) {
      next_[name] = Clock::now();
      // A job running on the old request must not overwrite this with its own next check.
      if (in_flight_.count(name)) recheck_.insert(name);
    }
    std::set<std::string> names;
    for (const auto& c : config_->certificates) names.insert(c.name);
    for (auto it = next_.begin(); it != next_.end();) {
      it = names.count(it->first) ? std::next(it) : next_.erase(it);
    }
  }

  // The only thread that queues due certificates, starts workers and joins the ones that left.
  void timer_loop() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      const auto now = Clock::now();
      util::SysTime wake = now + std::chrono::hours(24);
      for (const auto& [name, at] : next_) {
        if (in_flight_.count(name) || std::find(queue_.begin(), queue_.end(), name) != queue_.end()) continue;
        if (at <= now) {
          queue_.push_back(name);
        } else {
          wake = std::min(wake, at);
        }
      }
      if (!start_workers_locked()) wake = std::min(wake, now + std::chrono::seconds(10));
      join_exited(lock);
      if (budget_.take_idle(queue_.size())) {
        lock.unlock();
        release_memory();
        lock.lock();
        continue;  // look again: a reload may have queued work meanwhile
      }
      cv_.wait_until(lock, wake);
    }
  }

  // Starts the workers the queue needs; false if a thread could not be created (retried later).
  bool start_workers_locked() {
    for (int n = budget_.to_start(queue_.size()); n > 0; --n) {
      const int id = next_worker_id_++;
      try {
        workers_.emplace(id, std::thread([this, id] { worker_loop(id); }));
      } catch (const std::system_error& e) {
        kLog.error("could not start a worker; retrying in 10 s", {{"error", e.what()}});
        return false;
      }
      budget_.started(1);
    }
    return true;
  }

  // Joins the workers that left their loop. They hold no lock by then, so joining is brief; it
  // happens outside mu_ all the same.
  void join_exited(std::unique_lock<std::mutex>& lock) {
    if (exited_.empty()) return;
    std::vector<std::thread> done;
    for (const int id : exited_) {
      auto it = workers_.find(id);
      if (it == workers_.end()) continue;
      done.push_back(std::move(it->second));
      workers_.erase(it);
    }
    exited_.clear();
    lock.unlock();
    for (auto& t : done) t.join();
    lock.lock();
  }

  // Every job is done and every worker joined: what they freed (their arenas, TLS and ACME
  // buffers) goes back to the kernel instead of staying resident until the next renewal.
  static void release_memory() {
    const auto before = util::resident_anon_kib();
    util::release_free_memory();
    const auto after = util::resident_anon_kib();
    if (before && after) {
      kLog.debug("idle: freed memory returned", {{"anon_kib_before", *before}, {"anon_kib_after", *after}});
    }
  }

  void worker_loop(int id) {
    std::unique_lock lock(mu_);
    while (!stopping_ && !queue_.empty()) {
      const std::string name = queue_.front();
      queue_.pop_front();
      const auto config = config_;
      const CertificateConfig* cert = config->find_certificate(name);
      if (cert == nullptr) continue;  // removed by a reload
      in_flight_.insert(name);
      budget_.job_began();
      lock.unlock();
      RenewEnv env;
      env.config = config.get();
      env.store = &store_;
      env.on_issued = options_.on_issued;
      RenewResult result;
      if (options_.job_command) {
        result = renew_in_child(*options_.job_command, *config, *cert);
        if (result.status == RenewStatus::issued && options_.on_issued) options_.on_issued(name);
      } else {
        result = renew_one(*cert, env);
      }
      lock.lock();
      in_flight_.erase(name);
      budget_.job_ended();
      if (result.status == RenewStatus::failed) failing_.insert(name); else failing_.erase(name);
      if (next_.count(name)) {
        next_[name] = recheck_.erase(name) ? Clock::now()
                                           : std::max(result.next_check, Clock::now() + std::chrono::seconds(1));
      }
      cv_.notify_all();
      if (result.status != RenewStatus::not_due) {
        kLog.info("job done", {{"cert", name}, {"status", to_string(result.status)},
                               {"next_check", util::format_rfc3339(result.next_check)}});
      }
      lock.unlock();
      notifier_.status(summary());
      lock.lock();
    }
    budget_.exited();
    exited_.push_back(id);
    cv_.notify_all();  // the timer joins this thread, and releases memory if it was the last
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<const Config> config_;       // guarded by mu_
  std::map<std::string, util::SysTime> next_;  // guarded by mu_
  std::set<std::string> in_flight_;            // guarded by mu_
  std::set<std::string> failing_;              // guarded by mu_
  std::set<std::string> recheck_;              // changed by a reload while in flight; guarded by mu_
  std::deque<std::string> queue_;              // guarded by mu_
  bool stopping_ = false;                      // guarded by mu_
  const store::Store store_;
  DaemonOptions options_;
  SystemdNotifier notifier_;
  WorkerBudget budget_;                        // guarded by mu_
  std::map<int, std::thread> workers_;         // started by the timer thread; guarded by mu_
  std::vector<int> exited_;                    // workers out of their loop, to be joined; guarded by mu_
  int next_worker_id_ = 0;                     // guarded by mu_
  std::thread timer_;
};

// Hands the stored version of `name` to the listener; a broken one is refused there and the
// previous one keeps serving.
void install_stored(TlsService& tls, const store::Store& store, const std::string& name) {
  auto stored = store.load_certificate(name);
  if (!stored || !*stored) return;
  if (auto r = tls.install(name, (*stored)->key, (*stored)->chain); !r) {
    kLog.error("listener kept the previous certificate", {{"cert", name}, {"error", r.error().message}});
  } else {
    kLog.info("listener serves the new certificate", {{"cert", name}, {"serial", (*stored)->chain.leaf().serial_hex()}});
  }
}

void log_config_error(const util::Error& err) {
  kLog.error("config not loaded", {{"error", err.message}});
  for (const auto& d : err.details) kLog.error("config problem", {{"detail", d}});
}

void log_config_warnings(const Config& config) {
  for (const auto& w : config.warnings) kLog.warn("config warning", {{"detail", w}});
}

}  // namespace

util::Result<void> run_daemon(const DaemonOptions& options) {
  // Signals are taken synchronously by this thread; every thread started below inherits the mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  CERTPILOT_TRY(auto first, load_config(options.config_path), "run");
  log_config_warnings(first);
  store::StoreOptions store_options;
  store_options.root = first.storage.dir;
  store_options.archive_keep = first.storage.archive_keep;
  CERTPILOT_TRY(auto store, store::Store::open(store_options), "storage " + first.storage.dir);

  // No thread exists yet. Without the listener the daemon's threads are short-lived workers that
  // wait on the network: one malloc arena serves them without contention worth the name, and
  // malloc_trim() can shrink it to what is live once they are gone, whereas an arena per worker
  // kept ~130 KiB to 0.5 MiB each resident after trimming (bench/README.md, daemon.sh). The listener's
  // handshake threads keep glibc's default (an arena per thread) for throughput.
  if (!first.listener.enabled && !util::limit_malloc_arenas(1)) {
    kLog.debug("malloc arenas not limited (not glibc)");
  }

  // The embedded listener serves what the store holds and every renewal from then on, in-process.
  std::unique_ptr<TlsService> tls;
  DaemonOptions opts = options;
  if (first.listener.enabled) {
    ServeOptions serve;
    serve.listen = first.listener.listen;
    serve.backend = first.listener.backend;
    serve.default_name = first.listener.default_certificate;
    serve.in_process = true;
    serve.state_dir = first.storage.dir;
    CERTPILOT_TRY(tls, TlsService::start(serve, std::cerr), "[listener]");
    for (const auto& c : first.certificates) install_stored(*tls, store, c.name);
    opts.on_issued = [&tls, &store, user = options.on_issued](const std::string& name) {
      install_stored(*tls, store, name);
      if (user) user(name);
    };
  }

  SystemdNotifier notifier;
  Scheduler scheduler(std::make_shared<const Config>(std::move(first)), store, opts);
  scheduler.start();
  kLog.info("daemon started", {{"config", options.config_path.string()}});
  notifier.ready(scheduler.summary());

  const auto ping = notifier.watchdog_interval();
  while (true) {
    siginfo_t info{};
    int sig = -1;
    if (ping) {
      const timespec ts{static_cast<time_t>(ping->count() / 1000), static_cast<long>(ping->count() % 1000) * 1000000L};
      sig = sigtimedwait(&set, &info, &ts);
      notifier.watchdog();
    } else {
      sig = sigwaitinfo(&set, &info);
    }
    if (sig == SIGHUP) {
      notifier.reloading();
      kLog.info("reloading the config", {{"config", options.config_path.string()}});
      auto next = load_config(options.config_path);
      if (next) {
        log_config_warnings(*next);
        scheduler.reload(std::make_shared<const Config>(std::move(*next)));
        kLog.info("config reloaded");
      } else {
        log_config_error(next.error());
        kLog.warn("keeping the previous config");
      }
      notifier.ready(scheduler.summary());
    } else if (sig == SIGTERM || sig == SIGINT) {
      kLog.info("stopping: cancelling orders in flight and cleaning up their DNS records");
      notifier.stopping();
      util::request_cancel();
      scheduler.stop();
      if (tls) tls->stop();
      kLog.info("stopped");
      return util::ok();
    }
  }
}

}  // namespace certpilot::agent
