/// \file
/// Lifetimes: for every buffer, the first and last instruction touching it, whether the host
/// touches it (a feed, a constant, an output: then it lives through the whole run), and
/// whether something sums into it, and whether it then starts from zero where it is first
/// touched.
#pragma once

#include <vector>

#include "graph/compile/program.h"

namespace tg::compile {

/// How the program uses one buffer.
struct Lifetime {
  int first = -1;  ///< The first instruction touching it; -1: none.
  int last = -1;   ///< The last instruction touching it; -1: none.
  bool pinned = false;  ///< The host writes or reads it: it lives through the whole run.
  bool accumulated = false;  ///< Some instruction adds into it.
  /// It starts from zero where it is first touched: something adds into it, and not every sum
  /// and read lands on bytes written before (graph/compile/first_writes.h).
  bool zero_first = false;
  /// Whether it needs memory during the run.
  bool live() const { return pinned || first >= 0; }
};

/// Every buffer's Lifetime, indexed by BufferId. `written_first` false: every buffer something
/// sums into is zeroed where first touched (Lifetime::zero_first is `accumulated`), to compare.
std::vector<Lifetime> ComputeLifetimes(const Program& program, bool written_first = true);

}  // namespace tg::compile
