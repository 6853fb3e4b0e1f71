/// \file
/// Memory placement for a program whose steps run concurrently
/// (graph/compile/parallel_replay.h). Memory two buffers share orders every step of the first
/// before every step of the second (graph/compile/schedule.h), so placing by program order
/// alone would chain work that could run at once: the reverse direction of a bidirectional
/// layer would reuse the forward direction's dead values and wait for it.
///
/// Each instruction has a level: the longest chain of dependencies leading to it. As
/// PlaceMemory, this is a malloc run over program order (a buffer allocated at its first
/// instruction, freed after its last, best fit) with one more rule: a freed block goes to a
/// buffer only when every level of its previous owners lies below every level of the new
/// one. Every order sharing adds then runs from a lower level to a higher one, as the
/// dependencies do, so instructions of one level never wait for each other and the longest
/// chain does not grow; a block not yet allowed waits for a later buffer.
#pragma once

#include <vector>

#include "absl/types/span.h"
#include "graph/compile/lifetimes.h"
#include "graph/compile/memory_plan.h"
#include "graph/compile/program.h"

namespace tg::compile {

/// Per instruction, its level: 0 when it depends on nothing, else one more than the highest
/// level among the instructions it depends on (graph/compile/dependencies.h).
std::vector<int> InstructionLevels(const Program& program);

/// Places every planned, live buffer of `program` (graph/compile/concurrent_placement.h).
/// `lifetimes`: ComputeLifetimes(program).
Placement PlaceMemoryConcurrently(const Program& program, absl::Span<const Lifetime> lifetimes);

}  // namespace tg::compile
