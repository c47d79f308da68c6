#include "util/clock.hpp"

#include "util/cancel.hpp"

namespace certpilot::util {

bool SystemClock::sleep_for(std::chrono::milliseconds d) const { return sleep_cancellable(d); }

const SystemClock& SystemClock::instance() {
  static const SystemClock clock;
  return clock;
}

}  // namespace certpilot::util
