#pragma once
// Time enters through this interface so policy, polling and tests can drive it.
#include <chrono>
#include <mutex>

namespace certpilot::util {

using SysTime = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual SysTime now() const = 0;
  // Sleeps up to d; returns early (false) when cancellation was requested (see cancel.hpp).
  virtual bool sleep_for(std::chrono::milliseconds d) const = 0;
};

class SystemClock final : public Clock {
 public:
  SysTime now() const override { return std::chrono::system_clock::now(); }
  bool sleep_for(std::chrono::milliseconds d) const override;
  static const SystemClock& instance();
};

// Tests: time moves only when told to, sleeping advances it.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(SysTime start) : now_(start) {}
  SysTime now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  bool sleep_for(std::chrono::milliseconds d) const override {
    std::lock_guard lock(mu_);
    now_ += d;
    return true;
  }
  void advance(std::chrono::seconds d) {
    std::lock_guard lock(mu_);
    now_ += d;
  }

 private:
  mutable std::mutex mu_;
  mutable SysTime now_;  // guarded by mu_
};

}  // namespace certpilot::util
