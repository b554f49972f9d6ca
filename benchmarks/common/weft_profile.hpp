// Where weft's time went in one measurement (issue 13, item 5): the runtime's own counters
// (weft/runtime_metrics.hpp), divided by the workload's units of work, as extra figures of the
// outcome. tools/bench_report.py shows them beside each workload's chart.
//
//   Outcome outcome = spawn_join_result(sum, ran, start, kSpawn);
//   return cmp::with_weft_profile(std::move(outcome), runtime, kSpawn);
//
// The counters are cumulative since the runtime started, so the root task, the start and the
// first touches are in them: one runtime per measurement keeps them the workload's own.
#pragma once

#include <weft/weft.hpp>

#include "harness.hpp"

namespace cmp {

// The figures, per unit, in the order the report shows them. A name says what a unit did on
// average: "steps" 1.0 means one step per task (it never suspended), "parks" 0.01 that a worker
// went to sleep once per hundred tasks.
inline Outcome with_weft_profile(Outcome outcome, const weft::Runtime& runtime, double units) {
  if (!outcome.error.empty() || units <= 0) return outcome;
  const weft::RuntimeMetrics m = runtime.metrics();
  const auto per_unit = [&](std::uint64_t weft::WorkerMetrics::*counter) {
    return static_cast<double>(m.total(counter)) / units;
  };
  outcome.extra.emplace_back("weft.steps", per_unit(&weft::WorkerMetrics::step_count));
  outcome.extra.emplace_back("weft.steals", per_unit(&weft::WorkerMetrics::steal_count));
  outcome.extra.emplace_back("weft.parks", per_unit(&weft::WorkerMetrics::park_count));
  outcome.extra.emplace_back("weft.unparks", per_unit(&weft::WorkerMetrics::unpark_count));
  outcome.extra.emplace_back("weft.lifo_hits", per_unit(&weft::WorkerMetrics::lifo_slot_hits));
  outcome.extra.emplace_back("weft.block_misses",
                             per_unit(&weft::WorkerMetrics::block_pool_misses));
  outcome.extra.emplace_back("weft.stack_misses",
                             per_unit(&weft::WorkerMetrics::stack_pool_misses));
  std::uint64_t busy_ns = m.total(&weft::WorkerMetrics::busy_ns);
  outcome.extra.emplace_back("weft.busy_ns", static_cast<double>(busy_ns) / units);
  return outcome;
}

}  // namespace cmp
