/// \file
/// Pointwise fusion, the last pass: a run of consecutive pointwise steps over same-shape
/// operands (an LSTM's gates and cell update, and their backward) becomes one step that walks
/// the elements in L1-sized chunks and runs each member's declared tile function
/// (OpDef::pointwise) on the chunk, in program order. A value one member makes is read by the
/// next while it is still in L1, and the run costs one dispatch instead of one per op. Every
/// member still writes its own output (later steps may read it).
///
/// Chunk c of one member is chunk c of every other only if no two members touch the same
/// memory at different offsets, so such a pair ends the run. Ops over more than
/// kMaxFusedElements keep their own kernels (a larger run gains little from L1 reuse).
#pragma once

#include <cstdint>
#include <vector>

#include "graph/compile/executable.h"

namespace tg::compile {

/// Pointwise ops over more elements than this keep their own kernels.
inline constexpr int64_t kMaxFusedElements = int64_t{1} << 16;
/// Pointwise ops with more inputs than this keep their own kernels (a run passes a tile its
/// operands from a fixed array: no allocation).
inline constexpr size_t kMaxTileInputs = 4;

/// `steps` with every run of fusable consecutive pointwise steps (two or more) replaced by one
/// fused step.
std::vector<Step> FusePointwise(std::vector<Step> steps);

/// Fused runs with fewer element operations than this (elements x members) run on the
/// caller alone; above it they are split over `threads` (the caller and pool workers). An
/// LSTM step's forward at batch 32, hidden 256 (8,192 elements x 9 ops) is split.
inline constexpr int64_t kParallelFusedWork = int64_t{1} << 15;

/// Runs a fused step (its members' tiles, chunk by chunk) with its operands in `bases` and
/// its members' attributes in `attrs` (Executable::attrs).
void RunFused(const Step& fused, const Bases& bases, const Attrs* attrs, int threads);

}  // namespace tg::compile
