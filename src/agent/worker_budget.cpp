#include "agent/worker_budget.hpp"

#include <algorithm>

namespace certpilot::agent {

int WorkerBudget::to_start(std::size_t queued) const {
  const std::size_t waiting = static_cast<std::size_t>(std::max(0, alive_ - busy_));
  if (queued <= waiting || alive_ >= max_) return 0;
  const std::size_t wanted = queued - waiting;
  return static_cast<int>(std::min<std::size_t>(wanted, static_cast<std::size_t>(max_ - alive_)));
}

bool WorkerBudget::take_idle(std::size_t queued) {
  if (!dirty_ || queued != 0 || busy_ != 0 || alive_ != 0) return false;
  dirty_ = false;
  return true;
}

}  // namespace certpilot::agent
