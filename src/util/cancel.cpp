#include "util/cancel.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "util/subprocess.hpp"

namespace certpilot::util {
namespace {

std::atomic<bool> g_cancelled{false};
std::atomic<int> g_signals{0};
std::mutex g_mu;
std::condition_variable g_cv;
thread_local int t_shields = 0;

// The note a second signal prints. Notes are never freed: the handler may be reading one while a
// new one is set, and a run sets only a few.
std::atomic<const std::string*> g_abandon_note{nullptr};
std::mutex g_notes_mu;

void write_all(const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(STDERR_FILENO, data, size);
    if (n <= 0) return;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

void on_signal(int) {
  if (g_signals.fetch_add(1) >= 1) {
    // The operator insisted: leave now, clean-up or not, but say what is left (write(2) only:
    // async-signal-safe). Running hooks go too: each has its own process group, which the
    // terminal's Ctrl-C never reaches, so they would run on, orphaned, changing DNS after we left.
    signal_running_children();
    static constexpr char kHead[] = "certpilot: interrupted again: exiting without clean-up";
    write_all(kHead, sizeof kHead - 1);
    const std::string* note = g_abandon_note.load();
    if (note != nullptr && !note->empty()) {
      static constexpr char kLeft[] = "; left behind, remove by hand:\n";
      write_all(kLeft, sizeof kLeft - 1);
      write_all(note->data(), note->size());
    } else {
      static constexpr char kNothing[] = "\n";
      write_all(kNothing, sizeof kNothing - 1);
    }
    _exit(130);
  }
  g_cancelled.store(true);
  // notify_all is not async-signal-safe; sleepers poll the flag every 100 ms instead.
}

}  // namespace

void set_abandon_note(const void* owner, const std::string& note) {
  std::lock_guard lock(g_notes_mu);
  static std::map<const void*, std::string> by_owner;
  static std::vector<std::unique_ptr<const std::string>> kept;
  if (note.empty()) {
    by_owner.erase(owner);
  } else {
    by_owner[owner] = note.back() == '\n' ? note : note + '\n';
  }
  std::string all;
  for (const auto& [who, text] : by_owner) all += text;
  kept.push_back(std::make_unique<const std::string>(std::move(all)));
  g_abandon_note.store(kept.back().get());
}

std::string abandon_note() {
  std::lock_guard lock(g_notes_mu);
  const std::string* note = g_abandon_note.load();
  return note != nullptr ? *note : std::string();
}

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
