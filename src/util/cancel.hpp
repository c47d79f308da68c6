#pragma once
// Process-wide cancellation: SIGINT/SIGTERM set it; long waits (polling, propagation, sleeps) check
// it and return Errc::cancelled so clean-up (TXT records, authorizations) still runs on the way out.
#include <chrono>
#include <string>

namespace certpilot::util {

void request_cancel();            // async-signal-safe
bool cancel_requested();
void reset_cancel();              // tests
// Sleeps up to d, waking early on cancellation. Returns false when cancelled.
bool sleep_cancellable(std::chrono::milliseconds d);
// Installs SIGINT/SIGTERM handlers that call request_cancel(); a second signal exits at once
// (130), printing the note set by set_abandon_note, or a general one, so the operator learns what
// the skipped clean-up leaves behind. It first signals every program util::run_process is running
// (ProcessOptions::hard_exit_signal, SIGKILL by default), so no hook outlives us.
void install_cancel_signal_handlers();
// What a second signal would leave behind because of `owner` (e.g. one solver's TXT records not yet
// removed), one line per item; "" when nothing. The notes of every owner are printed together;
// copied, so the signal handler reads them without locks.
void set_abandon_note(const void* owner, const std::string& note);
std::string abandon_note();  // the current one (tests, logs)

// While one is alive, this thread sees no cancellation: clean-up that must still talk to DNS
// servers and the CA after Ctrl-C (removing TXT records, deactivating authorizations) runs under one.
class CancelShield {
 public:
  CancelShield();
  ~CancelShield();
  CancelShield(const CancelShield&) = delete;
  CancelShield& operator=(const CancelShield&) = delete;
};

}  // namespace certpilot::util
