/// \file
/// Pointwise fusion: a run of consecutive pointwise instructions over same-shape operands (an
/// LSTM's gates and cell update, and their backward) becomes one instruction that walks the
/// elements in L1-sized chunks and runs each member's declared tile function on the chunk,
/// in program order. A value one member makes is read by the next while it is still in L1,
/// and the run costs one dispatch instead of one per op. Every member still writes its own
/// output (later instructions may read it).
///
/// Chunk c of one member is chunk c of every other only if no two members touch the same
/// memory at different offsets, so such a pair ends the run. Ops over more than
/// kMaxFusedElements keep their own kernels (a larger run gains little from L1 reuse).
#pragma once

#include <cstdint>

#include "graph/compile/program.h"

namespace tg::compile {

/// Pointwise ops over more elements than this keep their own kernels.
inline constexpr int64_t kMaxFusedElements = int64_t{1} << 16;

/// `program` with every run of fusable consecutive pointwise instructions (two or more)
/// replaced by one fused instruction.
Program FusePointwise(Program program);

/// Fused runs with fewer element operations than this (elements x members) run on the
/// caller alone; above it they are split over `threads` (the caller and pool workers). An
/// LSTM step's forward at batch 32, hidden 256 (8,192 elements x 9 ops) is split.
inline constexpr int64_t kParallelFusedWork = int64_t{1} << 15;

/// Runs a fused instruction (its `fused` members' tiles, chunk by chunk).
void RunFused(const Instruction& in, int threads);

}  // namespace tg::compile
