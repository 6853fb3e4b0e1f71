/// \file
/// Which steps of a lowered program may run at once (graph/compile/parallel_replay.h runs
/// them so). Read from the bytes each step reads and writes in a run -- offsets into the
/// run's memory and private gradients, fixed addresses of parameters and their gradients --
/// never from what its op is: step j follows an earlier step i when j reads bytes i writes
/// (read after write), writes bytes i reads (write after read) or writes bytes i writes
/// (write after write). Accumulating into bytes counts as writing them, so the sums into one
/// buffer keep program order and a concurrent run gives the bits of a serial one. Memory
/// the plan shares between values whose lifetimes do not overlap orders the steps that use
/// it the same way.
///
/// Built once, at compile time, by one scan over the steps: each space is cut into byte
/// ranges touched alike, each keeping its last writer and its readers since, so an access
/// costs the ranges it covers plus the dependencies it adds.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "graph/compile/executable.h"

namespace tg::compile {

/// The dependencies of a lowered program's steps, as a run needs them: per step, how many
/// steps must finish first and which steps wait for it (see graph/compile/schedule.h).
struct Schedule {
  /// Per step: how many steps must finish before it starts.
  std::vector<int32_t> predecessors;
  /// Steps waiting for step k: successors[successor_begin[k] .. successor_begin[k + 1]).
  std::vector<int32_t> successor_begin;
  /// The waiting steps, each list in increasing order.
  std::vector<int32_t> successors;
  /// Per step: the steps on the longest chain of dependencies from it to the end, itself
  /// included. A run starts the ready step with the longest chain first.
  std::vector<int32_t> chain;
  /// Byte ranges visited plus dependencies looked at while building it.
  int64_t work = 0;

  /// Number of steps (0 for a program that runs serially).
  int num_steps() const { return static_cast<int>(predecessors.size()); }
  /// Whether there is nothing to schedule.
  bool empty() const { return predecessors.empty(); }
  /// The steps that wait for step k.
  absl::Span<const int32_t> after(int k) const {
    return {successors.data() + successor_begin[k],
            static_cast<size_t>(successor_begin[k + 1] - successor_begin[k])};
  }
  /// Whether step `to` must wait, directly or through others, for step `from` (a walk over
  /// the successors; for tests and tools, not for runs).
  bool Reaches(int from, int to) const;
};

/// The schedule of `steps` (Executable::steps, fused runs included).
Schedule BuildSchedule(absl::Span<const Step> steps);

}  // namespace tg::compile
