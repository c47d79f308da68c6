#include "util/cancel.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

namespace certpilot::util {
namespace {

std::atomic<bool> g_cancelled{false};
std::atomic<int> g_signals{0};
std::mutex g_mu;
std::condition_variable g_cv;
thread_local int t_shields = 0;

void on_signal(int) {
  if (g_signals.fetch_add(1) >= 1) {
    // The operator insisted: leave now, clean-up or not.
    _exit(130);
  }
  g_cancelled.store(true);
  // notify_all is not async-signal-safe; sleepers poll the flag every 100 ms instead.
}

}  // namespace

void request_cancel() {
  g_cancelled.store(true);
  g_cv.notify_all();
}

CancelShield::CancelShield() { ++t_shields; }
CancelShield::~CancelShield() { --t_shields; }

bool cancel_requested() { return t_shields == 0 && g_cancelled.load(); }

void reset_cancel() {
  g_cancelled.store(false);
  g_signals.store(0);
}

bool sleep_cancellable(std::chrono::milliseconds d) {
  const auto deadline = std::chrono::steady_clock::now() + d;
  std::unique_lock lock(g_mu);
  while (!cancel_requested()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return true;
    const auto slice = std::min<std::chrono::steady_clock::duration>(deadline - now, std::chrono::milliseconds(100));
    g_cv.wait_for(lock, slice);
  }
  return false;
}

void install_cancel_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

}  // namespace certpilot::util
