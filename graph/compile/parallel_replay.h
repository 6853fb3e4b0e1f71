/// \file
/// Runs a lowered program's steps concurrently, in an order its Schedule allows
/// (graph/compile/schedule.h), on the shared thread pool: whatever the model, a stacked
/// network's layer l at step t runs beside layer l+1 at step t-1 and the two directions of
/// a bidirectional layer run at once, when the schedule lets them.
///
/// How threads are used: while two or more steps are ready, each thread takes one (the
/// ready step with the longest chain of dependencies after it first) and runs it alone --
/// a step's own split over the threads then runs on that thread, as the pool runs a nested
/// job on its caller. When only one step is ready and none runs, the caller runs it with
/// every thread. Each step is split by the same thread count either way, and the schedule
/// keeps the sums into one buffer in program order, so the bits equal a serial run's.
///
/// The state of one run lives here, allocated once: a run allocates nothing.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "graph/compile/schedule.h"

namespace tg::compile {

/// The state of concurrent runs of one program in one context (see
/// graph/compile/parallel_replay.h). Not movable; a context holds it by pointer.
class ParallelReplay {
 public:
  /// Room for runs of `schedule` (which must outlive this) on up to `threads` threads.
  ParallelReplay(const Schedule& schedule, int threads);
  ParallelReplay(const ParallelReplay&) = delete;
  ParallelReplay& operator=(const ParallelReplay&) = delete;

  /// Calls run_step(k, worker) once for every step k, each after the steps it depends on;
  /// worker in [0, threads) tells which thread's scratch to use (no two running steps share
  /// one). Returns the first error a step returned (then starts no more steps).
  absl::Status Run(absl::FunctionRef<absl::Status(int step, int worker)> run_step);

 private:
  // Under mu_: takes the ready step with the longest chain.
  int PopReady();
  // Under mu_: records step k's end and readies the steps only it held back.
  void Finish(int k, absl::Status status);
  // One thread's share of a stretch with two or more steps ready.
  void Work(int worker, absl::FunctionRef<absl::Status(int, int)> run_step);

  const Schedule& schedule_;
  const int threads_;
  std::mutex mu_;
  std::vector<int32_t> pending_;  // per step: predecessors not yet finished
  std::vector<int32_t> ready_;    // a heap by chain length, then program order
  int running_ = 0, done_ = 0;
  absl::Status error_;
  // Bumped when a step ends, for threads waiting for a ready step.
  std::atomic<uint32_t> progress_{0};
};

}  // namespace tg::compile
