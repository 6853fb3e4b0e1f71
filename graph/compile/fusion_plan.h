/// \file
/// The fusion plan: which consecutive instructions of a program run fused (chunk by chunk,
/// graph/compile/fusion_geometry.h), and which values live only in a run's chunk buffer. A
/// value is kept out of memory when the run makes it and nothing outside the run touches its
/// buffer: one member writes all of it, the others only read it, and the host never sees it.
/// Lifetimes and memory placement read the plan (such buffers get no memory; every buffer a
/// run touches lives through the whole run), and lowering turns each run into one step.
#pragma once

#include <vector>

#include "absl/types/span.h"
#include "graph/compile/fusion_geometry.h"
#include "graph/compile/lifetimes.h"
#include "graph/compile/program.h"

namespace tg::compile {

/// Runs of instructions to fuse, and the values that live in a run's chunk buffer.
struct FusionPlan {
  std::vector<RunSpan> runs;  ///< Over instruction indices, ascending, disjoint.
  std::vector<bool> internal;  ///< Per value: lives only in its run's chunk buffer.
  std::vector<bool> internal_buffer;  ///< Per buffer: holds an internal value, needs no memory.
};

/// The fusion plan of `program`; `lifetimes` is ComputeLifetimes(program) without a plan.
FusionPlan PlanFusion(const Program& program, absl::Span<const Lifetime> lifetimes);

/// `lifetimes` with the plan applied: a buffer a run touches lives from the run's first
/// instruction to its last, an internal buffer is touched by nothing (needs no memory).
std::vector<Lifetime> FusedLifetimes(std::vector<Lifetime> lifetimes, const Program& program,
                                     const FusionPlan& plan);

/// The application of instruction `in` as fusion sees it (op, attributes, operand types).
FusionOp FusionOpOf(const Program& program, const Instruction& in);

}  // namespace tg::compile
