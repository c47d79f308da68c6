#pragma once
// The daemon's worker bookkeeping, kept pure (no threads, no clock) so it can be unit-tested:
// workers are started on demand, at most `max_parallel_orders` at a time, and leave as soon as the
// queue is empty. Once nothing is queued, running or still alive, the scheduler is idle and may
// hand freed memory back to the kernel, once per idle period.
//
// Not thread-safe: the Scheduler calls it under its mutex.
#include <cstddef>

namespace certpilot::agent {

class WorkerBudget {
 public:
  explicit WorkerBudget(int max_workers) { set_max(max_workers); }

  // A new limit (SIGHUP) applies to workers started from now on; running ones finish their job.
  void set_max(int max_workers) { max_ = max_workers < 1 ? 1 : max_workers; }
  int max() const { return max_; }

  // How many workers to start now for `queued` waiting jobs: alive workers not running a job take
  // the next one themselves, so only the jobs beyond them need a new worker, up to the limit.
  int to_start(std::size_t queued) const;

  void started(int n) { alive_ += n; }  // the caller started n workers
  void job_began() { ++busy_; dirty_ = true; }
  void job_ended() { --busy_; }
  void exited() { --alive_; }  // a worker left its loop (its thread may still be finishing)

  // Memory was freed outside jobs (start-up, a reload parsed a config): the next idle moment
  // counts as coming after work.
  void mark_dirty() { dirty_ = true; }

  int alive() const { return alive_; }
  int busy() const { return busy_; }

  // True exactly once after some work (or mark_dirty), when nothing is queued, no job runs and
  // no worker is left: the moment to release memory (workers' freed allocations).
  bool take_idle(std::size_t queued);

 private:
  int max_ = 1;
  int alive_ = 0;      // started and not yet out of their loop
  int busy_ = 0;       // running a job
  bool dirty_ = false; // a job ran (or mark_dirty) since the last idle moment
};

}  // namespace certpilot::agent
