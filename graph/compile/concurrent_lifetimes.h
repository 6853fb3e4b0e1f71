/// \file
/// Lifetimes for a program whose steps run concurrently (graph/compile/parallel_replay.h).
/// Memory the plan shares between two buffers orders every step of the first before every
/// step of the second (graph/compile/schedule.h), so sharing by program order alone would
/// chain work that could run at once: the reverse direction of a bidirectional layer would
/// reuse the forward direction's dead values and wait for it. Each instruction has a level
/// -- the longest chain of dependencies leading to it -- and two buffers may share memory
/// only when one's last level is below the other's first (so every order sharing adds runs
/// from a lower level to a higher one, as the dependencies do: instructions of one level
/// never wait for each other) and, as before, its last instruction comes before the other's
/// first.
///
/// PlaceMemory takes one time axis, program order; both conditions are put on it by widening
/// each buffer's lifetime: its last instruction becomes at least the last one of a level up to
/// its last level, its first at most the first one of a level from its first level on.
/// Disjoint widened lifetimes are then disjoint in both orders.
#pragma once

#include <vector>

#include "absl/types/span.h"
#include "graph/compile/lifetimes.h"
#include "graph/compile/program.h"

namespace tg::compile {

/// Per instruction, its level: 0 when it depends on nothing, else one more than the highest
/// level among the instructions it depends on (graph/compile/dependencies.h).
std::vector<int> InstructionLevels(const Program& program);

/// `lifetimes` with `first` and `last` measured in levels instead of instruction indices
/// (pinned and accumulated unchanged), for PlaceMemory only: lowering still reads the
/// instruction indices.
std::vector<Lifetime> ConcurrentLifetimes(const Program& program,
                                          absl::Span<const Lifetime> lifetimes);

}  // namespace tg::compile
