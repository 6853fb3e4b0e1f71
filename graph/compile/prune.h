/// \file
/// Pruning: drops the work no result needs. Kept are the instructions that write memory
/// outside the program (parameter gradients), those that write bytes of an output, and those
/// a kept instruction depends on (graph/compile/dependencies.h).
#pragma once

#include <cstdint>

#include "graph/compile/program.h"

namespace tg::compile {

/// `program` without the instructions nothing needs; values and buffers stay as they are.
/// `work`, if given, receives what finding them cost (Dependencies::work and the
/// dependencies followed).
Program Prune(Program program, int64_t* work = nullptr);

}  // namespace tg::compile
