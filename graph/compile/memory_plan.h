/// \file
/// Memory placement: every planned buffer that is live gets an offset in the program's one
/// allocation, by lifetime. It is a malloc run over time: buffers are allocated at their first
/// touch (best fit among the free blocks) and freed after their last, so buffers whose
/// lifetimes do not overlap share memory. Offsets are multiples of 64 bytes.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/types/span.h"
#include "graph/compile/lifetimes.h"
#include "graph/compile/program.h"

namespace tg::compile {

/// Where each buffer goes in the one allocation.
struct Placement {
  std::vector<int64_t> offset;  ///< Per buffer: its first byte's offset; -1 if not placed.
  int64_t bytes = 0;  ///< The allocation's size.
  int64_t work = 0;  ///< Free-list operations made: what placing cost.
};

/// A placed buffer's size: at least 64 bytes and a multiple of 64, so that every placed
/// buffer has a block of its own.
int64_t PlacedBytes(int64_t bytes);

/// The malloc run both placements share: walks the planned, live buffers of `program` by
/// first instruction (a pinned one -- fed, constant, output -- lives over the whole program),
/// calling `free` for each buffer whose last instruction lies before the next one's first,
/// then `take` for that buffer.
void SweepLifetimes(const Program& program, absl::Span<const Lifetime> lifetimes,
                    absl::FunctionRef<void(BufferId)> free,
                    absl::FunctionRef<void(BufferId)> take);

/// Places every planned, live buffer of `program` (graph/compile/memory_plan.h).
/// `lifetimes`: ComputeLifetimes(program).
Placement PlaceMemory(const Program& program, absl::Span<const Lifetime> lifetimes);

}  // namespace tg::compile
