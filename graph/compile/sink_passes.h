/// \file
/// Passes sink to their readers. An instruction that applies an op declaring tiles
/// (OpDef::pointwise: a pass over its operands) moves down to just before the first
/// instruction that must follow it, so that it lands beside its readers and a fused run takes
/// them together: a step's bias add and the column slices of its input projection, which the
/// program lists before the step's recurrent product, then join the gates after it, and the
/// slices are read in place instead of copied out. Only what the dependencies allow moves
/// (graph/compile/dependencies.h); sums and stacked instructions keep their places.
#pragma once

#include <cstdint>

#include "graph/compile/program.h"

namespace tg::compile {

/// `program` with its passes sunk to their readers; `moved`, if given, receives how many
/// instructions moved.
Program SinkPasses(Program program, int64_t* moved = nullptr);

}  // namespace tg::compile
