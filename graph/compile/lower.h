/// \file
/// Lowering: the placed program becomes steps over operands (offsets into a run's memory,
/// or fixed addresses). On the way, a buffer something sums into gets a zeroing step where it
/// is first touched -- unless that touch writes all of it and reads none of it: then the sum
/// becomes a plain write and nothing needs zeroing. External memory may be relocated into a
/// run's private gradients (CompileSpec::private_gradients).
#pragma once

#include <cstdint>

#include "absl/types/span.h"
#include "graph/compile/executable.h"
#include "graph/compile/fusion_plan.h"
#include "graph/compile/lifetimes.h"
#include "graph/compile/memory_plan.h"
#include "graph/compile/program.h"

namespace tg::compile {

/// External bytes [begin, begin + bytes) that a run keeps at `offset` of Space::kGradients
/// instead.
struct Relocation {
  const std::byte* begin = nullptr;  ///< First byte of the external memory.
  int64_t bytes = 0;  ///< Its size.
  int64_t offset = 0;  ///< Where it goes in the private gradients.
};

/// The steps, feeds, outputs, constants and memory size of `program`, whose buffers have
/// `lifetimes` (ComputeLifetimes, or FusedLifetimes with `fusion`) and are placed by
/// `placement` (PlaceMemory). With `fusion`, each of its runs becomes one fused step (its
/// zeroings before it) and its internal values live in the run's chunk buffer. The caller
/// adds paths, labels, options and private gradients.
Executable Lower(const Program& program, absl::Span<const Lifetime> lifetimes,
                 const Placement& placement, absl::Span<const Relocation> relocations = {},
                 const FusionPlan* fusion = nullptr);

}  // namespace tg::compile
