#include <catch2/catch.hpp>

#include "agent/worker_budget.hpp"

using certpilot::agent::WorkerBudget;

TEST_CASE("worker budget: starts one worker per queued job up to the limit", "[agent][daemon]") {
  WorkerBudget b(4);
  CHECK(b.to_start(0) == 0);
  CHECK(b.to_start(2) == 2);
  CHECK(b.to_start(10) == 4);
  b.started(4);
  CHECK(b.alive() == 4);
  CHECK(b.to_start(10) == 0);  // at the limit
}

TEST_CASE("worker budget: alive workers not yet running a job take queued jobs first", "[agent][daemon]") {
  WorkerBudget b(8);
  b.started(2);             // started, neither has taken its job yet
  CHECK(b.to_start(2) == 0);
  CHECK(b.to_start(3) == 1);
  b.job_began();
  b.job_began();            // both busy now
  CHECK(b.to_start(1) == 1);
  CHECK(b.to_start(9) == 6);
}

TEST_CASE("worker budget: a limit of 0 or less means one worker", "[agent][daemon]") {
  WorkerBudget b(0);
  CHECK(b.max() == 1);
  CHECK(b.to_start(5) == 1);
  b.set_max(-3);
  CHECK(b.max() == 1);
}

TEST_CASE("worker budget: a lower limit after a reload starts nothing until workers leave", "[agent][daemon]") {
  WorkerBudget b(4);
  b.started(4);
  for (int i = 0; i < 4; ++i) b.job_began();
  b.set_max(2);
  CHECK(b.to_start(5) == 0);
  b.job_ended();
  b.exited();
  b.job_ended();
  b.exited();
  CHECK(b.alive() == 2);
  CHECK(b.to_start(5) == 0);  // still 2 alive and busy: at the new limit
  b.job_ended();
  b.exited();
  CHECK(b.to_start(5) == 1);
  b.set_max(6);
  CHECK(b.to_start(5) == 5);
}

TEST_CASE("worker budget: idle once after work, when nothing is queued, running or alive", "[agent][daemon]") {
  WorkerBudget b(2);
  CHECK_FALSE(b.take_idle(0));  // no work yet: nothing to give back

  b.started(2);
  b.job_began();
  b.job_began();
  CHECK_FALSE(b.take_idle(0));  // jobs running
  b.job_ended();
  b.exited();
  b.job_ended();
  CHECK_FALSE(b.take_idle(1));  // a job still queued
  CHECK_FALSE(b.take_idle(0));  // one worker still alive (between jobs or leaving)
  b.exited();
  CHECK(b.take_idle(0));
  CHECK_FALSE(b.take_idle(0));  // once per idle period

  b.started(1);
  b.job_began();
  b.job_ended();
  b.exited();
  CHECK(b.take_idle(0));        // the next idle period after more work
}

TEST_CASE("worker budget: a worker that found the queue empty makes no idle period", "[agent][daemon]") {
  WorkerBudget b(2);
  b.started(1);
  b.exited();                   // its job was taken or removed by a reload before it ran
  CHECK(b.alive() == 0);
  CHECK_FALSE(b.take_idle(0));
}

TEST_CASE("worker budget: start-up or a reload marked dirty makes the next idle moment count", "[agent][daemon]") {
  WorkerBudget b(2);
  b.mark_dirty();
  CHECK_FALSE(b.take_idle(1));  // work queued first
  b.started(1);
  CHECK_FALSE(b.take_idle(0));
  b.exited();
  CHECK(b.take_idle(0));
  CHECK_FALSE(b.take_idle(0));
}
